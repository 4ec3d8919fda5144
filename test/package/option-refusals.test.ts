/**
 * Every public entry point refuses the same mistakes at the call, with a typed error whose stable code names the
 * option (issue 19, point 4): a required argument left out, a misspelled handler, a handler that is not a function,
 * a negative maxPayload, a path without '/', an idleTimeout in seconds. Options an entry point does not have
 * (redisAdapter() has no handlers) are refused as unknown. One table, so that a new entry point cannot skip a row.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { attach, connect, handleUpgrade, reconnecting, redisAdapter, serve, serveCluster } from '../../src/index.js';
import { useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();
const URL_ = 'ws://127.0.0.1:1/';

/** Calls an entry point and returns what it threw or rejected with (undefined if it accepted). */
async function refusal(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    if (result instanceof Promise) await withTimeout(result, 5000, 'the call to settle');
    // Accepted: close what was opened so that the test can fail instead of hanging.
    (result as { close?: () => unknown } | undefined)?.close?.();
    return undefined;
  } catch (error) {
    return error;
  }
}

const entryPoints: Record<string, (options: never) => unknown> = {
  'serve()': (options) => serve(options),
  'attach()': (options) => attach(http.createServer(), options),
  'handleUpgrade()': (options) => {
    const socket = new net.Socket();
    defer(() => socket.destroy());
    return handleUpgrade(new http.IncomingMessage(socket), socket, Buffer.alloc(0), options);
  },
  'connect()': (options) => connect(URL_, options),
  'reconnecting()': (options) => reconnecting(URL_, options),
  'serveCluster()': (options) => serveCluster(options),
  'redisAdapter()': (options) => redisAdapter(options),
};

const mistakes: [string, Record<string, unknown>, string][] = [
  ['a misspelled handler', { mesage() {} }, 'mesage'],
  ['a handler that is not a function', { message: 5 }, 'message'],
  ['a negative maxPayload', { maxPayload: -5 }, 'maxPayload'],
  ["a path without '/'", { path: 'ws' }, 'path'],
  ['an idleTimeout in seconds', { idleTimeout: 120 }, 'idleTimeout'],
];

describe.each(Object.entries(entryPoints))('%s', (name, call) => {
  it.each(mistakes)('refuses %s at the call, naming the option', async (_what, options, option) => {
    const error = await refusal(() => call(options as never));
    expect(error, `${name} accepted ${JSON.stringify(options)}`).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: expect.stringMatching(/^WSBOLT_(INVALID_OPTION|UNKNOWN_OPTION|OPTION_OUT_OF_RANGE)$/), option });
    expect((error as Error).message).toContain(name);
  });
});

describe('a required argument left out is refused at the call with a typed error that names it', () => {
  const cases: [string, () => unknown, string][] = [
    ['attach()', () => (attach as (...args: unknown[]) => unknown)(), 'server'],
    ['handleUpgrade()', () => (handleUpgrade as (...args: unknown[]) => unknown)(), 'req'],
    ['connect()', () => (connect as (...args: unknown[]) => unknown)(), 'url'],
    ['reconnecting()', () => (reconnecting as (...args: unknown[]) => unknown)(), 'url'],
  ];
  it.each(cases)('%s', async (name, call, argument) => {
    const error = await refusal(call);
    expect(error, `${name} accepted no argument`).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).toMatch(/^(WSBOLT_INVALID_OPTION|ERR_INVALID_URL)$/);
    expect((error as Error).message).toMatch(new RegExp(argument, 'i'));
  });
});

it('reconnecting(url) works with no options: the default policy', async () => {
  const server = await serve({ port: 0 });
  defer(() => server.close());
  const client = await reconnecting(`ws://127.0.0.1:${server.port}/`);
  defer(() => client.close());
  expect(client.current?.readyState).toBe(1);
});
