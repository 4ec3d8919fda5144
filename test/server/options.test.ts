/**
 * Options are checked at the call: serve(), attach(), handleUpgrade() and createServer() refuse a misspelled name,
 * a wrong type and an out-of-range number with a typed error naming the option, what was expected and what was
 * received; serve() without options listens on the loopback interface only.
 */
import * as http from 'node:http';
import { describe, expect, it } from 'vitest';
import { attach, createServer, handleUpgrade, serve, WsboltOptionError, WsboltOptionRangeError } from '../../src/index.js';
import { duplexPair, useCleanup, wsConnect } from '../kit/index.js';

const defer = useCleanup();

describe('serve() defaults', () => {
  it('serve() with no argument listens on 127.0.0.1 on a free port, and serves', async () => {
    const server = await serve();
    defer(() => server.close());
    expect(server.address()).toMatchObject({ address: '127.0.0.1' });
    expect(server.port).toBeGreaterThan(0);
    const { client } = await wsConnect(defer, `ws://127.0.0.1:${server.port}/`);
    expect(client.readyState).toBe(1);
  });

  it('serve({}) listens on the loopback interface too; host opens it wider', async () => {
    const server = await serve({});
    defer(() => server.close());
    expect(server.address()).toMatchObject({ address: '127.0.0.1' });
    const everywhere = await serve({ host: '0.0.0.0' });
    defer(() => everywhere.close());
    expect(everywhere.address()).toMatchObject({ address: '0.0.0.0' });
  });
});

describe('serve() refuses bad options', () => {
  it('an unknown name, with the nearest known one', async () => {
    const error = await serve({ mesage() {} } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WsboltOptionError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ name: 'WsboltOptionError', code: 'WSBOLT_UNKNOWN_OPTION', option: 'mesage' });
    expect((error as Error).message).toBe("serve(): unknown option 'mesage' — did you mean 'message'?");
  });

  it('an unknown name without a near one gets no suggestion', async () => {
    await expect(serve({ zzzzzzzz: 1 } as never)).rejects.toThrow(/^serve\(\): unknown option 'zzzzzzzz'$/);
  });

  it('a handler that is not a function', async () => {
    const error = await serve({ message: 'echo' as never }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WSBOLT_INVALID_OPTION', option: 'message', expected: 'a function', received: "'echo'" });
    expect((error as Error).message).toBe("serve(): option 'message' must be a function, received 'echo'");
  });

  it('a negative maxPayload is out of range', async () => {
    const error = await serve({ maxPayload: -5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WsboltOptionRangeError);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'WSBOLT_OPTION_OUT_OF_RANGE', option: 'maxPayload', received: '-5' });
    expect((error as Error).message).toBe("serve(): option 'maxPayload' must be an integer ≥ 0 (bytes), received -5");
  });

  it.each([NaN, Infinity, 1.5, '16mb'])('maxPayload %s is refused', async (value) => {
    await expect(serve({ maxPayload: value as number })).rejects.toMatchObject({ option: 'maxPayload' });
  });

  it("a path without '/'", async () => {
    await expect(serve({ path: 'ws' })).rejects.toThrow("serve(): option 'path' must be a string starting with '/', received 'ws' — did you mean '/ws'?");
  });

  it('nested options: routes, their paths, perMessageDeflate, rateLimit, tls', async () => {
    await expect(serve({ routes: { '/chat': { mesage() {} } as never } })).rejects.toMatchObject({
      code: 'WSBOLT_UNKNOWN_OPTION',
      option: 'routes["/chat"].mesage',
      message: expect.stringContaining("did you mean 'message'?"),
    });
    await expect(serve({ routes: { chat: {} } })).rejects.toMatchObject({ option: 'routes["chat"]' });
    await expect(serve({ perMessageDeflate: { level: 12 } })).rejects.toMatchObject({
      option: 'perMessageDeflate.level',
      message: "serve(): option 'perMessageDeflate.level' must be an integer from -1 to 9, received 12",
    });
    await expect(serve({ perMessageDeflate: { treshold: 10 } as never })).rejects.toThrow("did you mean 'threshold'?");
    await expect(serve({ rateLimit: { messagesPerSecond: -1 } })).rejects.toMatchObject({ option: 'rateLimit.messagesPerSecond' });
    await expect(serve({ tls: 'yes' as never })).rejects.toMatchObject({ option: 'tls', code: 'WSBOLT_INVALID_OPTION' });
    await expect(serve({ tls: { cert: 'x' } })).rejects.toThrow(
      "serve(): option 'tls' must be TLS options with key and cert (or pfx, or SNICallback), received an object without key",
    );
    await expect(serve({ port: 70000 })).rejects.toMatchObject({ option: 'port', code: 'WSBOLT_OPTION_OUT_OF_RANGE' });
    await expect(serve({ transport: 'tcp' as never })).rejects.toMatchObject({ option: 'transport', expected: "'native' or 'stream'" });
  });

  it('options that are not an object', async () => {
    await expect(serve('8080' as never)).rejects.toThrow("serve(): the options must be an object, received '8080'");
  });
});

describe('durations are milliseconds', () => {
  it('idleTimeout below 1000 (other than 0) is refused as seconds, with the product suggested', async () => {
    const error = await serve({ idleTimeout: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe(
      "serve(): option 'idleTimeout' must be 0 (off) or a number of milliseconds from 1,000 to 2,147,483,647, received 30 — idleTimeout is in milliseconds: did you mean 30 * 1000 = 30000?",
    );
  });

  it('messageTimeout follows the same rule; 0 disables either', async () => {
    await expect(serve({ messageTimeout: 5 })).rejects.toThrow('did you mean 5 * 1000 = 5000?');
    const server = await serve({ idleTimeout: 0, messageTimeout: 0 });
    await server.close();
  });

  it('a duration beyond setTimeout’s ceiling is refused (Node would fire it after 1 ms)', async () => {
    await expect(serve({ closeTimeout: 2 ** 31 })).rejects.toMatchObject({ option: 'closeTimeout', code: 'WSBOLT_OPTION_OUT_OF_RANGE' });
  });
});

describe('the other ways to mount check too', () => {
  it('attach() throws at the call', () => {
    const httpServer = http.createServer();
    expect(() => attach(httpServer, { opne() {} } as never)).toThrow("attach(): unknown option 'opne' — did you mean 'open'?");
    expect(httpServer.listenerCount('upgrade')).toBe(0);
  });

  it('createServer() throws at the call', () => {
    expect(() => createServer({ maxConnections: -1 })).toThrow(WsboltOptionRangeError);
  });

  it('handleUpgrade() rejects, and the socket is left to the caller', async () => {
    const [socket] = duplexPair();
    const req = new http.IncomingMessage(socket as never);
    await expect(handleUpgrade(req, socket, Buffer.alloc(0), { close: 1 as never })).rejects.toMatchObject({ option: 'close', expected: 'a function' });
    socket.destroy();
  });
});
