/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1): the server choosing an
 * offer (acceptOffer), the client checking the answer (acceptResponse), and
 * both ends of a real handshake against `ws` and hand-made peers.
 */
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import WsClient, { WebSocketServer } from 'ws';
import { type DeflateOptions, acceptOffer, acceptResponse, buildOffer, parseExtensions } from '../../src/extensions/negotiation.js';
import { type WebSocket, connect } from '../../src/index.js';
import { acceptFor, HOST, httpUpgradeServer, Queue, startServer, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

const PMD = 'permessage-deflate';

describe('server side: acceptOffer', () => {
  it('a plain offer: accepted, and the client is told not to carry context over', () => {
    const r = acceptOffer(PMD, {});
    expect(r).toEqual({
      params: { serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
      response: 'permessage-deflate; client_no_context_takeover',
    });
  });

  it('no header, or an empty one: nothing to accept', () => {
    expect(acceptOffer(undefined, {})).toBeNull();
    expect(acceptOffer('', {})).toBeNull();
    expect(acceptOffer('  ,  ', {})).toBeNull();
  });

  it('server_no_context_takeover is echoed', () => {
    const r = acceptOffer('permessage-deflate; server_no_context_takeover', {});
    expect(r?.response).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    expect(r?.params.serverNoContextTakeover).toBe(true);
  });

  it.each([
    ['permessage-deflate'],
    ['permessage-deflate; client_no_context_takeover'],
    ['permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate; client_max_window_bits'],
    ['permessage-deflate; server_max_window_bits=12'],
  ])('client_no_context_takeover is always in the response (%s)', (offer) => {
    const r = acceptOffer(offer, {});
    expect(r).not.toBeNull();
    expect(parseExtensions(r!.response)![0]!.params.get('client_no_context_takeover')).toBe(true);
    expect(r!.params.clientNoContextTakeover).toBe(true);
  });

  it('server_max_window_bits=10 is answered with 10', () => {
    const r = acceptOffer('permessage-deflate; server_max_window_bits=10', {});
    expect(r?.response).toBe('permessage-deflate; client_no_context_takeover; server_max_window_bits=10');
    expect(r?.params.serverMaxWindowBits).toBe(10);
  });

  it.each([
    [9, 10, 9],
    [10, 10, 10],
    [12, 10, 10],
    [15, 8, 8],
  ])('server option serverMaxWindowBits=%i, offer %i → %i (never above the offer)', (option, offered, agreed) => {
    const r = acceptOffer(`permessage-deflate; server_max_window_bits=${offered}`, { serverMaxWindowBits: option });
    expect(r?.params.serverMaxWindowBits).toBe(agreed);
    expect(r?.response).toBe(`permessage-deflate; client_no_context_takeover; server_max_window_bits=${agreed}`);
  });

  it('a server window limit is announced even when the client did not ask for one', () => {
    const r = acceptOffer(PMD, { serverMaxWindowBits: 11 });
    expect(r?.params.serverMaxWindowBits).toBe(11);
    expect(r?.response).toBe('permessage-deflate; client_no_context_takeover; server_max_window_bits=11');
  });

  it('valueless client_max_window_bits without a server option: no client limit in the response', () => {
    const r = acceptOffer('permessage-deflate; client_max_window_bits', {});
    expect(r?.response).toBe('permessage-deflate; client_no_context_takeover');
    expect(r?.params.clientMaxWindowBits).toBe(15);
  });

  it('valueless client_max_window_bits with a server option: the server picks the value', () => {
    const r = acceptOffer('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 });
    expect(r?.response).toBe('permessage-deflate; client_no_context_takeover; client_max_window_bits=10');
    expect(r?.params.clientMaxWindowBits).toBe(10);
  });

  it.each([
    [undefined, 12, 12],
    [10, 12, 10],
    [12, 9, 9],
  ])('client option %s, offered client_max_window_bits=%i → %i', (option, offered, agreed) => {
    const options: DeflateOptions = option === undefined ? {} : { clientMaxWindowBits: option };
    const r = acceptOffer(`permessage-deflate; client_max_window_bits=${offered}`, options);
    expect(r?.params.clientMaxWindowBits).toBe(agreed);
    expect(r?.response).toBe(`permessage-deflate; client_no_context_takeover; client_max_window_bits=${agreed}`);
  });

  it('quoted values are unquoted', () => {
    const r = acceptOffer('permessage-deflate; client_max_window_bits="10"; server_max_window_bits="11"', {});
    expect(r?.params).toMatchObject({ clientMaxWindowBits: 10, serverMaxWindowBits: 11 });
    expect(r?.response).toBe('permessage-deflate; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10');
  });

  it('whitespace around separators and upper-case names are accepted', () => {
    const r = acceptOffer('  PerMessage-Deflate ;\tServer_No_Context_Takeover ; server_max_window_bits = 9 ', {});
    expect(r?.params).toMatchObject({ serverNoContextTakeover: true, serverMaxWindowBits: 9 });
  });

  it('several offers: the first one acceptable wins', () => {
    expect(acceptOffer('permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=11', {})?.params.serverMaxWindowBits).toBe(11);
    expect(acceptOffer('permessage-deflate; server_max_window_bits=12, permessage-deflate; server_max_window_bits=11', {})?.params.serverMaxWindowBits).toBe(
      12,
    );
    // The fallback offer without parameters is chosen when the first cannot be honoured.
    const r = acceptOffer('permessage-deflate; server_max_window_bits=10; foo, permessage-deflate; server_no_context_takeover, permessage-deflate', {});
    expect(r?.response).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  });

  it('several offers with a client window requirement: the first that can honour it wins', () => {
    const r = acceptOffer(
      'permessage-deflate; server_no_context_takeover, permessage-deflate; client_max_window_bits=12, permessage-deflate; client_max_window_bits',
      {
        clientMaxWindowBits: 10,
      },
    );
    expect(r?.response).toBe('permessage-deflate; client_no_context_takeover; client_max_window_bits=10');
    expect(r?.params.serverNoContextTakeover).toBe(false); // the second offer, not the first
  });

  it.each([
    ['permessage-deflate; ;'],
    ['permessage-deflate;'],
    ['permessage-deflate; client_max_window_bits="10'],
    ['permessage-deflate; server_max_window_bits='],
    ['permessage-deflate server_no_context_takeover'],
    ['; server_no_context_takeover'],
    ['permessage-deflate; =10'],
    ['permessage-deflate; server_max_window_bits=1 0'],
    ['permessage-deflate, permessage-deflate; ;'],
    ['permessage-deflate; a="b"c'],
  ])('malformed header %j → null', (header) => {
    expect(parseExtensions(header)).toBeNull();
    expect(acceptOffer(header, {})).toBeNull();
  });

  it.each([
    ['duplicate parameter', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
    ['duplicate parameter with other values', 'permessage-deflate; server_max_window_bits=10; server_max_window_bits=11'],
    ['duplicate parameter, other case', 'permessage-deflate; client_max_window_bits; Client_Max_Window_Bits'],
    ['unknown parameter', 'permessage-deflate; foo'],
    ['unknown parameter with a value', 'permessage-deflate; foo=1'],
    ['server_max_window_bits=7', 'permessage-deflate; server_max_window_bits=7'],
    ['server_max_window_bits=16', 'permessage-deflate; server_max_window_bits=16'],
    ['server_max_window_bits=08', 'permessage-deflate; server_max_window_bits=08'],
    ['server_max_window_bits=""', 'permessage-deflate; server_max_window_bits=""'],
    ['server_max_window_bits without a value', 'permessage-deflate; server_max_window_bits'],
    ['server_max_window_bits=abc', 'permessage-deflate; server_max_window_bits=abc'],
    ['server_max_window_bits=+9', 'permessage-deflate; server_max_window_bits=+9'],
    ['client_max_window_bits=7', 'permessage-deflate; client_max_window_bits=7'],
    ['client_max_window_bits=16', 'permessage-deflate; client_max_window_bits=16'],
    ['client_max_window_bits=08', 'permessage-deflate; client_max_window_bits=08'],
    ['client_max_window_bits=""', 'permessage-deflate; client_max_window_bits=""'],
    ['client_max_window_bits=100', 'permessage-deflate; client_max_window_bits=100'],
    ['a value on server_no_context_takeover', 'permessage-deflate; server_no_context_takeover=1'],
    ['a value on client_no_context_takeover', 'permessage-deflate; client_no_context_takeover="x"'],
  ])('%s: that offer is declined (null alone, the next one taken otherwise)', (_what, offer) => {
    expect(acceptOffer(offer, {})).toBeNull();
    expect(acceptOffer(`${offer}, permessage-deflate; client_max_window_bits=9`, {})?.params.clientMaxWindowBits).toBe(9);
  });

  it('server option clientMaxWindowBits and an offer without client_max_window_bits: declined', () => {
    expect(acceptOffer(PMD, { clientMaxWindowBits: 10 })).toBeNull();
    expect(acceptOffer('permessage-deflate; server_no_context_takeover; client_no_context_takeover', { clientMaxWindowBits: 12 })).toBeNull();
    expect(acceptOffer('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 12 })?.params.clientMaxWindowBits).toBe(12);
  });

  it('an unknown extension is ignored', () => {
    expect(acceptOffer('x-webkit-deflate-frame', {})).toBeNull();
    expect(acceptOffer('x-webkit-deflate-frame; no_context_takeover', {})).toBeNull();
    const r = acceptOffer('x-webkit-deflate-frame; max_window_bits=10, foo; bar="baz", permessage-deflate; server_max_window_bits=10', {});
    expect(r?.response).toBe('permessage-deflate; client_no_context_takeover; server_max_window_bits=10');
  });
});

describe('client side: buildOffer and acceptResponse', () => {
  it('the offer always asks for no context takeover both ways', () => {
    expect(buildOffer({})).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits');
    expect(buildOffer({ serverMaxWindowBits: 10, clientMaxWindowBits: 11 })).toBe(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
    );
  });

  it.each([
    ['permessage-deflate; server_no_context_takeover; client_no_context_takeover', {}, { serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    ['permessage-deflate; server_no_context_takeover', {}, { serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    ['permessage-deflate; server_no_context_takeover; server_max_window_bits=10', {}, { serverMaxWindowBits: 10, clientMaxWindowBits: 15 }],
    ['permessage-deflate; server_no_context_takeover; client_max_window_bits=9', {}, { serverMaxWindowBits: 15, clientMaxWindowBits: 9 }],
    [
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=9',
      { serverMaxWindowBits: 10 },
      { serverMaxWindowBits: 9, clientMaxWindowBits: 15 },
    ],
    [
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10',
      { serverMaxWindowBits: 10 },
      { serverMaxWindowBits: 10, clientMaxWindowBits: 15 },
    ],
    [
      'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
      { clientMaxWindowBits: 10 },
      { serverMaxWindowBits: 15, clientMaxWindowBits: 10 },
    ],
    [
      'permessage-deflate; server_no_context_takeover; client_max_window_bits="8"',
      { clientMaxWindowBits: 10 },
      { serverMaxWindowBits: 15, clientMaxWindowBits: 8 },
    ],
    ['PERMESSAGE-DEFLATE ;  SERVER_NO_CONTEXT_TAKEOVER', {}, { serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
  ] as [string, DeflateOptions, object][])('valid response %j (options %j)', (response, options, bits) => {
    const r = acceptResponse(response, options);
    expect(r).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: true, ...bits });
  });

  it.each([
    [
      'server_max_window_bits above the offered value',
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=11',
      { serverMaxWindowBits: 10 },
    ],
    ['server_max_window_bits absent (15) when we offered 10', 'permessage-deflate; server_no_context_takeover', { serverMaxWindowBits: 10 }],
    [
      'client_max_window_bits above the offered value',
      'permessage-deflate; server_no_context_takeover; client_max_window_bits=12',
      { clientMaxWindowBits: 10 },
    ],
    ['valueless client_max_window_bits', 'permessage-deflate; server_no_context_takeover; client_max_window_bits', {}],
    ['missing server_no_context_takeover', 'permessage-deflate', {}],
    ['missing server_no_context_takeover (other parameters present)', 'permessage-deflate; client_no_context_takeover; server_max_window_bits=10', {}],
    ['two extensions', 'permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover', {}],
    ['two different extensions', 'permessage-deflate; server_no_context_takeover, x-foo', {}],
    ['an unknown extension', 'x-webkit-deflate-frame', {}],
    ['an unknown parameter', 'permessage-deflate; server_no_context_takeover; foo', {}],
    ['a duplicate parameter', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}],
    ['server_max_window_bits out of range', 'permessage-deflate; server_no_context_takeover; server_max_window_bits=7', {}],
    ['server_max_window_bits without a value', 'permessage-deflate; server_no_context_takeover; server_max_window_bits', {}],
    ['client_max_window_bits=16', 'permessage-deflate; server_no_context_takeover; client_max_window_bits=16', {}],
    ['malformed (empty parameter)', 'permessage-deflate; ;', {}],
    ['malformed (unterminated quote)', 'permessage-deflate; server_no_context_takeover; server_max_window_bits="10', {}],
    ['malformed (empty)', '', {}],
    ['malformed (only commas)', ' , ', {}],
  ] as [string, string, DeflateOptions][])('%s → error', (_what, response, options) => {
    expect(typeof acceptResponse(response, options)).toBe('string');
  });

  const windows = [undefined, 8, 9, 10, 12, 15];
  it('our client and our server always agree with each other (every window combination)', () => {
    let accepted = 0;
    for (const cs of windows)
      for (const cc of windows)
        for (const ss of windows)
          for (const sc of windows) {
            const clientOptions: DeflateOptions = {
              ...(cs !== undefined && { serverMaxWindowBits: cs }),
              ...(cc !== undefined && { clientMaxWindowBits: cc }),
            };
            const serverOptions: DeflateOptions = {
              ...(ss !== undefined && { serverMaxWindowBits: ss }),
              ...(sc !== undefined && { clientMaxWindowBits: sc }),
            };
            const label = JSON.stringify({ clientOptions, serverOptions });
            const server = acceptOffer(buildOffer(clientOptions), serverOptions);
            // Our client always offers client_max_window_bits, so our server never has to decline it.
            expect(server, label).not.toBeNull();
            const client = acceptResponse(server!.response, clientOptions);
            expect(client, label).toEqual(server!.params);
            expect(client, label).toMatchObject({
              serverMaxWindowBits: Math.min(cs ?? 15, ss ?? 15),
              clientMaxWindowBits: Math.min(cc ?? 15, sc ?? 15),
            });
            accepted++;
          }
    expect(accepted).toBe(windows.length ** 4);
  });
});

describe('handshakes over sockets', () => {
  async function wsServer(options: Record<string, unknown> = {}) {
    const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: true, ...options });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const connections = new Queue<{ socket: { extensions: string }; headers: Record<string, string | string[] | undefined> }>();
    wss.on(
      'connection',
      (socket: { extensions: string; on(event: string, fn: () => void): void }, req: { headers: Record<string, string | string[] | undefined> }) => {
        socket.on('error', () => {});
        connections.push({ socket, headers: req.headers });
      },
    );
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
    );
    return { port: (wss.address() as net.AddressInfo).port, connections };
  }

  /** Sends a handshake request on a bare socket with extra header lines; returns the response head. */
  async function rawHandshake(port: number, lines: string[], path = '/'): Promise<string> {
    const socket = net.connect({ host: HOST, port });
    defer(() => socket.destroy());
    socket.on('error', () => {});
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
        `Sec-WebSocket-Version: 13\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`,
    );
    let head = '';
    await withTimeout(
      new Promise<void>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          head += chunk.toString('latin1');
          if (head.includes('\r\n\r\n')) resolve();
        }),
      ),
    );
    return head.slice(0, head.indexOf('\r\n\r\n'));
  }

  const extensionsOf = (head: string) =>
    head
      .split('\r\n')
      .filter((l) => l.toLowerCase().startsWith('sec-websocket-extensions:'))
      .map((l) => l.slice(l.indexOf(':') + 1).trim());

  async function ours(url: string, options: Parameters<typeof connect>[1] = {}): Promise<WebSocket> {
    const ws = await withTimeout(connect(url, options), 5000, `connect ${url}`);
    defer(() => ws.terminate());
    return ws;
  }

  /** A ws client, open; `answered` is the Sec-WebSocket-Extensions header of the server's 101 ('' if none). */
  async function wsClient(url: string, options: Record<string, unknown> = {}): Promise<{ c: { extensions: string }; answered: string }> {
    const c = new WsClient(url, { perMessageDeflate: true, ...options });
    defer(() => c.terminate());
    c.on('error', () => {});
    let answered = '';
    c.once('upgrade', (res: { headers: Record<string, string | undefined> }) => (answered = String(res.headers['sec-websocket-extensions'] ?? '')));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        c.once('open', () => resolve());
        c.once('error', reject);
      }),
      5000,
      `ws connect ${url}`,
    );
    return { c, answered };
  }

  it('our client ↔ the ws server: permessage-deflate agreed on both sides', async () => {
    const s = await wsServer();
    const ws = await ours(`ws://${HOST}:${s.port}/`);
    const peer = await s.connections.next();
    expect(peer.headers['sec-websocket-extensions']).toBe(buildOffer({}));
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    expect(acceptResponse(ws.extensions, {})).toMatchObject({ serverNoContextTakeover: true });
    expect(ws.deflate).not.toBeNull();
    expect(peer.socket.extensions).toBe('permessage-deflate');
  });

  it('our client with window limits ↔ the ws server', async () => {
    const s = await wsServer();
    const ws = await ours(`ws://${HOST}:${s.port}/`, { perMessageDeflate: { serverMaxWindowBits: 10, clientMaxWindowBits: 11 } });
    await s.connections.next();
    expect(acceptResponse(ws.extensions, { serverMaxWindowBits: 10, clientMaxWindowBits: 11 })).toMatchObject({
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11,
    });
    expect(ws.deflate?.sendWindowBits).toBe(11);
  });

  it('the ws client ↔ our server: permessage-deflate agreed on both sides', async () => {
    const sockets = new Queue<WebSocket>();
    const server = await startServer(defer, { perMessageDeflate: true, open: (ws) => sockets.push(ws) });
    const { c, answered } = await wsClient(`ws://${HOST}:${server.port}/`);
    const ws = await sockets.next();
    expect(c.extensions).toBe('permessage-deflate');
    expect(answered).toBe('permessage-deflate; client_no_context_takeover');
    expect(ws.extensions).toBe('permessage-deflate; client_no_context_takeover');
    expect(ws.deflate).not.toBeNull();
  });

  it('the ws client with window limits ↔ our server with window limits', async () => {
    const sockets = new Queue<WebSocket>();
    const server = await startServer(defer, { perMessageDeflate: { serverMaxWindowBits: 11, clientMaxWindowBits: 12 }, open: (ws) => sockets.push(ws) });
    const { c, answered } = await wsClient(`ws://${HOST}:${server.port}/`, {
      perMessageDeflate: { serverMaxWindowBits: 10, clientMaxWindowBits: 9, serverNoContextTakeover: true },
    });
    const ws = await sockets.next();
    expect(ws.extensions).toBe(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9',
    );
    expect(answered).toBe(ws.extensions);
    expect(c.extensions).toBe('permessage-deflate');
    expect(ws.deflate?.sendWindowBits).toBe(10);
  });

  it('our client ↔ our server', async () => {
    const sockets = new Queue<WebSocket>();
    const server = await startServer(defer, { perMessageDeflate: { serverMaxWindowBits: 12 }, open: (ws) => sockets.push(ws) });
    const ws = await ours(`ws://${HOST}:${server.port}/`);
    const peer = await sockets.next();
    expect(ws.extensions).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12');
    expect(peer.extensions).toBe(ws.extensions);
    expect(ws.deflate?.params).toEqual(peer.deflate?.params);
  });

  it('our server with compression off (the default) answers without the header', async () => {
    const sockets = new Queue<WebSocket>();
    const server = await startServer(defer, { open: (ws) => sockets.push(ws) });
    // A raw request, to see the exact answer.
    const head = await rawHandshake(server.port, ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits']);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head.toLowerCase()).not.toContain('sec-websocket-extensions');
    expect((await sockets.next()).extensions).toBe('');
    // And clients see no extension.
    const { c, answered } = await wsClient(`ws://${HOST}:${server.port}/`);
    expect(c.extensions).toBe('');
    expect(answered).toBe('');
    const ws = await ours(`ws://${HOST}:${server.port}/`);
    expect(ws.extensions).toBe('');
    expect(ws.deflate).toBeNull();
  });

  it('our server: offers spread over several header lines are read as one list', async () => {
    const server = await startServer(defer, { perMessageDeflate: true });
    const head = await rawHandshake(server.port, [
      'Sec-WebSocket-Extensions: x-foo; bar',
      'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover',
    ]);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(extensionsOf(head)).toEqual(['permessage-deflate; server_no_context_takeover; client_no_context_takeover']);
  });

  it('our server: an offer it cannot accept (or cannot parse) is answered without the extension, and the connection works', async () => {
    const server = await startServer(defer, { perMessageDeflate: { clientMaxWindowBits: 10 } });
    for (const offer of ['permessage-deflate', 'permessage-deflate; ;', 'permessage-deflate; server_max_window_bits=16', 'x-webkit-deflate-frame']) {
      const head = await rawHandshake(server.port, [`Sec-WebSocket-Extensions: ${offer}`]);
      expect(head, offer).toMatch(/^HTTP\/1\.1 101 /);
      expect(extensionsOf(head), offer).toEqual([]);
    }
  });

  it('our server: a route can turn compression off (or on) against the server default', async () => {
    const server = await startServer(defer, {
      perMessageDeflate: true,
      routes: { '/plain': { perMessageDeflate: false }, '/zip': {}, '/small': { perMessageDeflate: { serverMaxWindowBits: 9 } } },
    });
    expect((await wsClient(`ws://${HOST}:${server.port}/plain`)).answered).toBe('');
    expect((await wsClient(`ws://${HOST}:${server.port}/zip`)).answered).toBe('permessage-deflate; client_no_context_takeover');
    expect((await wsClient(`ws://${HOST}:${server.port}/small`)).answered).toBe('permessage-deflate; client_no_context_takeover; server_max_window_bits=9');
    const off = await startServer(defer, { routes: { '/zip': { perMessageDeflate: true }, '/plain': {} } });
    expect((await ours(`ws://${HOST}:${off.port}/zip`)).deflate).not.toBeNull();
    expect((await ours(`ws://${HOST}:${off.port}/plain`)).deflate).toBeNull();
  });

  it('our client with perMessageDeflate: false sends no offer', async () => {
    const s = await wsServer();
    const ws = await ours(`ws://${HOST}:${s.port}/`, { perMessageDeflate: false });
    const peer = await s.connections.next();
    expect(peer.headers['sec-websocket-extensions']).toBeUndefined();
    expect(peer.socket.extensions).toBe('');
    expect(ws.extensions).toBe('');
    expect(ws.deflate).toBeNull();
  });

  it('our client offers by default, and with options', async () => {
    const s = await wsServer();
    await ours(`ws://${HOST}:${s.port}/`);
    await ours(`ws://${HOST}:${s.port}/`, { perMessageDeflate: true });
    await ours(`ws://${HOST}:${s.port}/`, { perMessageDeflate: { serverMaxWindowBits: 9 } });
    const offers = (await s.connections.take(3)).map((c) => c.headers['sec-websocket-extensions']);
    expect(offers).toEqual([buildOffer({}), buildOffer({}), buildOffer({ serverMaxWindowBits: 9 })]);
  });

  /** A server answering 101 with the given Sec-WebSocket-Extensions (and otherwise a valid handshake). */
  async function answering(extensions: string) {
    const closed = new Queue<void>();
    return {
      closed,
      ...(await httpUpgradeServer(defer, (req, socket) => {
        // The HTTP server's sockets are half-open capable: the client dropping the connection shows as 'end'.
        let gone = false;
        const done = () => {
          if (gone) return;
          gone = true;
          closed.push();
        };
        socket.once('end', done);
        socket.once('close', done);
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${acceptFor(String(req.headers['sec-websocket-key']))}\r\n` +
            `Sec-WebSocket-Extensions: ${extensions}\r\n\r\n`,
        );
      })),
    };
  }

  it.each([
    ['an extension we offered, when we offered none', 'permessage-deflate; server_no_context_takeover', { perMessageDeflate: false }],
    ['an extension we never offer', 'x-custom-extension', {}],
    ['permessage-deflate and another extension', 'permessage-deflate; server_no_context_takeover, x-custom-extension', {}],
    ['permessage-deflate without server_no_context_takeover', 'permessage-deflate', {}],
    ['permessage-deflate with a valueless client_max_window_bits', 'permessage-deflate; server_no_context_takeover; client_max_window_bits', {}],
    [
      'a larger server window than offered',
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=12',
      { perMessageDeflate: { serverMaxWindowBits: 10 } },
    ],
    ['a malformed extensions header', 'permessage-deflate; ;', {}],
  ] as [string, string, Parameters<typeof connect>[1]][])(
    'a server answering %s fails our handshake (ERR_INVALID_HANDSHAKE)',
    async (_what, extensions, options) => {
      const s = await answering(extensions);
      const attempt = connect(`ws://${HOST}:${s.port}/`, options);
      attempt.then(
        (ws) => defer(() => ws.terminate()),
        () => {},
      );
      await expect(withTimeout(attempt)).rejects.toMatchObject({ code: 'ERR_INVALID_HANDSHAKE' });
      await s.closed.next(); // and the connection is dropped
    },
  );

  it('a valid answer from the same hand-made server is accepted (the failures above are about the extension)', async () => {
    const s = await answering('permessage-deflate; server_no_context_takeover; client_max_window_bits=10');
    const ws = await ours(`ws://${HOST}:${s.port}/`);
    expect(ws.deflate?.params).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 10 });
  });
});
