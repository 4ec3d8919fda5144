/**
 * A client example started before its server (or against the wrong port) says so in one line and exits 1: a user
 * trying the examples gets a hint, not an ECONNREFUSED stack from inside the library. The same holds when a reconnecting
 * client gives up, and when a server example's port is taken.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, HOST, start, useCleanup, withTimeout } from '../kit/index.js';

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

it('reconnect-client that gives up (the server refuses with 403) says why in one line and exits 1, without a stack', async () => {
  const refusing = http.createServer((_req, res) => res.writeHead(403).end('no'));
  await new Promise<void>((resolve) => refusing.listen(0, HOST, resolve));
  defer(() => new Promise((resolve) => refusing.close(resolve)));
  const port = (refusing.address() as AddressInfo).port;
  const client = start(defer, ['examples/reconnect-client.mjs'], { env: { PORT: String(port) } });
  expect(await withTimeout(client.exited, 10_000, 'reconnect-client exit')).toEqual({ code: 1, signal: null });
  const stderr = client.stderr().trim();
  expect(stderr.split('\n')).toHaveLength(1);
  expect(stderr).toContain(`ws://127.0.0.1:${port}/`);
  expect(stderr).toContain('403');
  expect(stderr).not.toMatch(/^\s+at /m);
});

describe('a server example whose port is taken says so in one line and exits 1, without a stack', () => {
  for (const script of ['echo-server', 'auth', 'graceful-shutdown', 'shared-port', 'ws-compat-echo', 'http2']) {
    it(script, async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, HOST, resolve));
      defer(() => new Promise((resolve) => taken.close(resolve)));
      const port = (taken.address() as AddressInfo).port;
      const child = start(defer, [`examples/${script}.mjs`], { env: { PORT: String(port), HOST } });
      expect(await withTimeout(child.exited, 10_000, `${script} exit`)).toEqual({ code: 1, signal: null });
      const stderr = child.stderr().trim();
      expect(stderr.split('\n')).toHaveLength(1);
      expect(stderr).toContain(`${HOST}:${port}`);
      expect(stderr).toContain('in use');
      expect(stderr).not.toMatch(/^\s+at /m);
    });
  }
});
