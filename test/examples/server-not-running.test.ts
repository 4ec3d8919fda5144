/**
 * A client example started before its server (or against the wrong port) says so in one line and exits 1: a user
 * trying the examples gets a hint, not an ECONNREFUSED stack from inside the library.
 */
import { expect, it } from 'vitest';
import { freePort, start, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

it('echo-client without a server prints which URL it tried and what to start, without a stack', async () => {
  const port = await freePort();
  const client = start(defer, ['examples/echo-client.mjs'], { env: { PORT: String(port) } });
  expect(await withTimeout(client.exited, 10_000, 'echo-client exit')).toEqual({ code: 1, signal: null });
  const stderr = client.stderr().trim();
  expect(stderr.split('\n')).toHaveLength(1);
  expect(stderr).toContain(`ws://127.0.0.1:${port}/`);
  expect(stderr).toContain('ECONNREFUSED');
  expect(stderr).toContain('node examples/echo-server.mjs');
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(client.lines.filter(Boolean)).toEqual([]);
});
