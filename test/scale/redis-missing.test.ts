/**
 * The Redis adapter for a user without ioredis installed (hidden by a module
 * resolve hook, test/scale/fixtures/hide-ioredis.mjs): requiring wsbolt does
 * not load ioredis, the adapter reports that it cannot load it instead of
 * throwing, ready() rejects, and local pub/sub keeps working.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOST, start, useCleanup } from '../kit/index.js';
import { FIXTURES, peer, requireBuiltScale, texts } from './util.js';

const defer = useCleanup();

beforeAll(() => requireBuiltScale());

describe('redisAdapter without ioredis', () => {
  it('reports it, rejects ready(), and leaves local delivery working', async () => {
    const child = start(defer, ['--import', join(FIXTURES, 'hide-ioredis.mjs'), join(FIXTURES, 'no-ioredis.cjs')]);
    await child.waitFor(/^loaded-at-start false$/);
    const port = Number((await child.waitFor(/^listening (\d+)/))[1]);
    await child.waitFor(/^error ".*ioredis package could not be loaded \(npm install ioredis\)/);
    await child.waitFor(/^ready-rejected ".*ioredis package could not be loaded/);

    const url = `ws://${HOST}:${port}/`;
    const a = await peer(defer, url);
    const b = await peer(defer, url);
    await b.ask({ op: 'sub', topic: 'local' });
    for (let i = 0; i < 20; i++) a.send(JSON.stringify({ op: 'pub', topic: 'local', data: `l${i}` }));
    expect(await texts(b, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `l${i}`));
    const { stats, status } = await a.ask({ op: 'stats' });
    expect(status).toBe('connecting');
    expect(stats).toMatchObject({ published: 20, buffered: 20, delivered: 0 });
    expect(child.alive).toBe(true);
    expect(child.stderr()).toBe('');
  });
});
