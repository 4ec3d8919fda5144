/** The opening handshake as seen from a raw TCP socket (RFC 6455 §4.2). */
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type WebSocket } from '../../src/index.js';
import {
  acceptFor,
  closePayload,
  frame,
  handshakeRequest,
  HOST,
  once,
  rawConnect,
  rawHttp,
  RFC_ACCEPT,
  RFC_KEY,
  startServer,
  useCleanup,
} from '../kit/index.js';

const defer = useCleanup();

const echo = { message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }) };

async function server() {
  return startServer(defer, echo);
}

describe('refused requests', () => {
  it('a non-GET method gets 405 with Allow: GET', async () => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', {}, 'POST / HTTP/1.1'));
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET');
    expect(res.closed).toBe(true);
  });

  it('HTTP/1.0 gets 400', async () => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', {}, 'GET / HTTP/1.0'));
    expect(res.status).toBe(400);
    expect(res.closed).toBe(true);
  });

  it.each([
    ['Upgrade: h2c', { Upgrade: 'h2c' }],
    ['Upgrade: websocketx', { Upgrade: 'websocketx' }],
  ])('an invalid Upgrade header (%s) gets 400', async (_name, headers) => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', headers));
    expect(res.status).toBe(400);
    expect(res.body.toString()).toMatch(/Upgrade/);
    expect(res.closed).toBe(true);
  });

  // Without both Upgrade and Connection: Upgrade, Node does not see an upgrade
  // at all: the request is plain HTTP, which serve() answers with 426.
  it.each([
    ['no Upgrade header', { Upgrade: null }],
    ['no Connection header', { Connection: null }],
    ['Connection: keep-alive only', { Connection: 'keep-alive' }],
  ])('%s: not upgraded, answered as plain HTTP (426)', async (_name, headers) => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', headers), 3000, false);
    expect(res.status).toBe(426);
    expect(res.headers['sec-websocket-version']).toBe('13');
    expect(s.connections.size).toBe(0);
  });

  it.each([
    ['missing', null],
    ['empty', ''],
    ['not base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
    ['15 bytes', Buffer.alloc(15, 1).toString('base64')],
    ['17 bytes', Buffer.alloc(17, 1).toString('base64')],
    ['unpadded 16 bytes', Buffer.alloc(16, 1).toString('base64').replace(/=+$/, '')],
  ])('Sec-WebSocket-Key %s gets 400', async (_name, key) => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', { 'Sec-WebSocket-Key': key }));
    expect(res.status).toBe(400);
    expect(res.body.toString()).toMatch(/Sec-WebSocket-Key/);
    expect(res.closed).toBe(true);
  });

  it('Sec-WebSocket-Version: 8 gets 426 naming version 13', async () => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', { 'Sec-WebSocket-Version': '8' }));
    expect(res.status).toBe(426);
    expect(res.headers['sec-websocket-version']).toBe('13');
    expect(res.closed).toBe(true);
  });

  it('a missing Sec-WebSocket-Version gets 400', async () => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', { 'Sec-WebSocket-Version': null }));
    expect(res.status).toBe(400);
    expect(res.closed).toBe(true);
  });

  it('a duplicated subprotocol gets 400', async () => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', { 'Sec-WebSocket-Protocol': 'chat, chat' }));
    expect(res.status).toBe(400);
  });

  it('an error answer is complete HTTP: status line, Content-Length matching the body, Connection: close', async () => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/', { 'Sec-WebSocket-Version': '7' }));
    expect(res.statusText).toBe('Upgrade Required');
    expect(res.headers['connection']).toBe('close');
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(s.connections.size).toBe(0);
  });
});

describe('accepted requests', () => {
  it('answers the RFC example key with the RFC example accept value', async () => {
    const s = await server();
    const res = await rawHttp(s.port, handshakeRequest('/chat', { 'Sec-WebSocket-Key': RFC_KEY }));
    expect(res.status).toBe(101);
    expect(res.headers['sec-websocket-accept']).toBe(RFC_ACCEPT);
    expect(res.headers['upgrade']!.toLowerCase()).toBe('websocket');
    expect(res.headers['connection']!.toLowerCase()).toBe('upgrade');
    expect(res.headers['sec-websocket-protocol']).toBeUndefined();
    expect(res.headers['sec-websocket-extensions']).toBeUndefined();
  });

  it.each([
    ['Connection: keep-alive, Upgrade', { Connection: 'keep-alive, Upgrade' }],
    ['mixed-case tokens', { Upgrade: 'WebSocket', Connection: 'uPgRaDe' }],
    ['Upgrade listing several protocols', { Upgrade: 'websocket, h2c', Connection: 'Upgrade' }],
    ['lower-case header names', { upgrade: 'websocket', connection: 'upgrade' }],
  ])('accepts %s', async (_name, headers) => {
    const s = await server();
    const key = Buffer.alloc(16, 7).toString('base64');
    const res = await rawHttp(s.port, handshakeRequest('/', { ...headers, 'Sec-WebSocket-Key': key }));
    expect(res.status).toBe(101);
    expect(res.headers['sec-websocket-accept']).toBe(acceptFor(key));
  });

  it('a frame sent in the same packet as the request is not lost', async () => {
    const s = await server();
    const raw = await rawConnect(defer, s.port, { after: frame({ opcode: 1, payload: 'early', mask: true }) });
    const f = await raw.frames.next();
    expect(f).toMatchObject({ opcode: 1, fin: true, masked: false });
    expect(f.payload.toString()).toBe('early');
  });

  it('the connection works after a raw handshake: echo, then a clean close', async () => {
    const s = await server();
    const raw = await rawConnect(defer, s.port);
    raw.sendText('hi');
    const f = await raw.frames.next();
    expect(f.payload.toString()).toBe('hi');
    raw.sendClose(1000, 'done');
    const c = await raw.frames.next();
    expect(c.opcode).toBe(8);
    expect(closePayload(c.payload).code).toBe(1000);
    await raw.ended;
  });

  it('a request split into single bytes is still understood', async () => {
    const s = await server();
    const socket = net.connect({ host: HOST, port: s.port });
    defer(() => socket.destroy());
    await once(socket, 'connect');
    const request = Buffer.from(handshakeRequest('/', { 'Sec-WebSocket-Key': RFC_KEY }));
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    for (const byte of request) socket.write(Buffer.from([byte]));
    await once(socket, 'data');
    expect(Buffer.concat(got).toString()).toContain(`Sec-WebSocket-Accept: ${RFC_ACCEPT}`);
  });
});
