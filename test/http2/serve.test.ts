/** serve({ tls, http2: true }): a standalone server that speaks WebSockets over HTTP/2 (RFC 8441) and HTTP/1.1 on one port. */
import { describe, expect, it } from 'vitest';
import { connect, serve, type UpgradeRequest, type WebSocket } from '../../src/index.js';
import { failure, handlerRecorder, useCleanup, withTimeout, wsConnect } from '../kit/index.js';
import { cert, h2Session, key } from './util.js';

const defer = useCleanup();

describe('serve({ tls, http2: true })', () => {
  it('serves extended CONNECT and HTTP/1.1 upgrades on one port; close() ends the sessions and resolves', async () => {
    const versions: string[] = [];
    const rec = handlerRecorder();
    const server = await serve({
      ...rec.handler,
      host: '127.0.0.1',
      tls: { key, cert },
      http2: true,
      upgrade: (req: UpgradeRequest) => void versions.push(req.httpVersion),
      message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }),
    });
    defer(() => server.close({ timeout: 500 }));
    const ws = await connect(`wss://localhost:${server.port}/`, { ca: cert, http2: true });
    const { client, messages } = await wsConnect(defer, `wss://localhost:${server.port}/`, { ca: cert });
    client.send('h1');
    expect((await messages.next()).data.toString()).toBe('h1');
    expect(versions.sort()).toEqual(['1.1', '2.0']);
    const session = await h2Session(defer, server.port);
    const plain = session.request({ ':path': '/' });
    plain.resume();
    const [headers] = await withTimeout(new Promise<[Record<string, unknown>]>((resolve) => plain.once('response', (h) => resolve([h]))));
    expect(headers[':status']).toBe(426);
    await rec.opens.take(2);
    await withTimeout(server.close({ timeout: 2000 }), 5000, 'close()');
    expect(ws.readyState).toBe(3);
  });

  it('http2 without tls is refused', async () => {
    const error = await failure(() => serve({ http2: true }));
    expect(error).toBeInstanceOf(TypeError);
  });
});
