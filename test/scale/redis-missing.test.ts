/**
 * The Redis adapter for a user without ioredis installed (hidden by a module
 * resolve hook, test/scale/fixtures/hide-ioredis.mjs): requiring wsbolt does
 * not load ioredis, and serve() with the adapter rejects at once with a typed
 * error that says how to install it, instead of listening and warning about
 * Redis forever.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { start, useCleanup, withTimeout } from '../kit/index.js';
import { FIXTURES, requireBuiltScale } from './util.js';

const defer = useCleanup();

beforeAll(() => requireBuiltScale());

describe('redisAdapter without ioredis', () => {
  it('serve() rejects with ERR_IOREDIS_MISSING and the install command; nothing is left running or warning', async () => {
    const child = start(defer, ['--import', join(FIXTURES, 'hide-ioredis.mjs'), join(FIXTURES, 'no-ioredis.cjs')]);
    // Nothing keeps the process alive: no listening server, no reconnect timers.
    expect(await withTimeout(child.exited, 10_000, 'the fixture to exit by itself')).toEqual({ code: 0, signal: null });
    expect(child.lines[0]).toBe('loaded-at-start false');
    expect(child.lines.slice(1).sort()).toEqual([
      'ready-rejected ERR_IOREDIS_MISSING',
      expect.stringMatching(/^serve-rejected WsboltError ERR_IOREDIS_MISSING ".*redisAdapter\(\) needs the ioredis package.*npm install ioredis/),
    ]);
    expect(child.stderr()).toBe('');
  });
});
