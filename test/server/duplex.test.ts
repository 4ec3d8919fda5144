/**
 * The engine over any Duplex (the transport seam): an in-memory pair with no
 * socket under it, on both roles, through the public entry points.
 */
import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connect, createServer, type WebSocket } from '../../src/index.js';
import { duplexPair, frame, parseFrames, Queue, RFC_ACCEPT, RFC_KEY, withTimeout } from '../kit/index.js';

function upgradeRequest(): IncomingMessage {
  return {
    method: 'GET',
    httpVersion: '1.1',
    url: '/chat',
    headers: { host: 'in-memory', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': RFC_KEY, 'sec-websocket-version': '13' },
  } as unknown as IncomingMessage;
}

describe('the engine over a Duplex that is not a socket', () => {
  it('server.handleUpgrade answers 101 and echoes frames over an in-memory pair', async () => {
    const [serverSide, clientSide] = duplexPair();
    const closed = new Queue<number>();
    const server = createServer({
      message: (ws, data, isBinary) => ws.send(data, { binary: isBinary }),
      close: (_ws, code) => closed.push(code),
    });
    const received: Buffer[] = [];
    clientSide.on('data', (chunk: Buffer) => received.push(chunk));
    const ws = await withTimeout(server.handleUpgrade(upgradeRequest(), serverSide, Buffer.alloc(0)));
    expect(ws).not.toBeNull();
    expect(ws!.remoteAddress).toBe('');

    clientSide.write(frame({ opcode: 1, payload: 'over a pair', mask: true }));
    clientSide.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: true }));
    expect(await withTimeout(closed.next())).toBe(1000);

    const bytes = Buffer.concat(received);
    const headEnd = bytes.indexOf('\r\n\r\n');
    expect(bytes.subarray(0, headEnd).toString()).toContain(`Sec-WebSocket-Accept: ${RFC_ACCEPT}`);
    const frames = parseFrames(bytes.subarray(headEnd + 4));
    expect(frames.map((f) => f.opcode)).toEqual([1, 8]);
    expect(frames[0]!.payload.toString()).toBe('over a pair');
    expect(frames[1]!.payload.readUInt16BE(0)).toBe(1000);
  });

  it('connect() over createConnection returning an in-memory Duplex talks to a server on the other end', async () => {
    const [serverSide, clientSide] = duplexPair();
    const server = createServer({ message: (ws, data) => ws.send(`echo ${data}`) });
    // A minimal HTTP side for the server end: read the request head, hand it to handleUpgrade.
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      serverSide.off('data', onHead);
      serverSide.pause();
      const lines = head.subarray(0, end).toString().split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const req = { method: 'GET', httpVersion: '1.1', url: lines[0]!.split(' ')[1], headers } as unknown as IncomingMessage;
      void server.handleUpgrade(req, serverSide, head.subarray(end + 4));
    };
    serverSide.on('data', onHead);

    const messages = new Queue<string>();
    const client: WebSocket = await withTimeout(
      connect('ws://in-memory.test/echo', {
        createConnection: () => clientSide as never,
        perMessageDeflate: false,
        message: (_ws, data) => messages.push(data.toString()),
      }),
    );
    client.send('hello');
    expect(await withTimeout(messages.next())).toBe('echo hello');
    const closed = new Promise<number>((resolve) =>
      (client as unknown as { io: { stream: Duplex } }).io.stream.once('close', () => resolve(client.readyState)),
    );
    client.close(1000);
    expect(await withTimeout(closed)).toBe(3);
  });
});
