/**
 * Shared helpers for the server tests: servers on an ephemeral port, `ws`
 * clients, a raw-socket client that speaks the protocol by hand (its frames
 * come from test/helpers.ts, written independently of src/), and waiting
 * with upper bounds. Nothing here sleeps: every wait is for an event, with a
 * timeout that fails the test.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import * as net from 'node:net';
import WsClient from 'ws';
import { serve, type ServeOptions, type Server } from '../../src/index.js';
import { frame, type FrameSpec } from '../helpers.js';

export const HOST = '127.0.0.1';
export const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

export const acceptFor = (key: string) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

import { Queue, withTimeout, useCleanup } from '../support.js';
export { Queue, withTimeout, useCleanup };

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const d = {
    settled: false,
    promise: new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    }),
    resolve(value: T) {
      d.settled = true;
      resolve(value);
    },
    reject(error: unknown) {
      d.settled = true;
      reject(error);
    },
  };
  return d;
}

/** The first emission of event (its arguments), bounded by ms. */
export function once<A extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, ms = 5000): Promise<A> {
  const promise = withTimeout(new Promise<A>((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as A))), ms, `event '${event}'`);
  promise.catch(() => {}); // may be awaited later than it fails: the awaiter still sees the rejection
  return promise;
}



/** serve() on 127.0.0.1 and an ephemeral port, closed after the test. */
export async function startServer<T = unknown>(defer: (fn: () => unknown) => void, options: ServeOptions<T> = {}): Promise<Server<T>> {
  const server = await serve<T>({ host: HOST, ...options, port: 0 });
  defer(() => server.close({ timeout: 200 }));
  return server;
}

/** The part of a `ws` client the tests use (the package ships no types: see test/shims.d.ts). */
export interface WsClientLike extends EventEmitter {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean; fin?: boolean }): void;
  ping(data?: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** `ws` client options (ws passes most of them on to http/https/tls). */
export type WsClientOptions = { protocols?: string | string[]; origin?: string; headers?: Record<string, string>; ca?: Buffer; rejectUnauthorized?: boolean } & Record<string, unknown>;

/** A `ws` client, not yet open (errors are swallowed; watch 'open', 'close', 'unexpected-response'). */
export function wsClient(url: string, options: WsClientOptions = {}): WsClientLike {
  const { protocols, ...rest } = options;
  const client: WsClientLike = new WsClient(url, protocols, rest);
  client.on('error', () => {});
  return client;
}

export interface ClientMessage {
  data: Buffer;
  isBinary: boolean;
}

export interface OpenClient {
  client: WsClientLike;
  messages: Queue<ClientMessage>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A `ws` client, open, with its messages queued and its close awaited; terminated after the test. */
export async function connect(defer: (fn: () => unknown) => void, url: string, options: WsClientOptions = {}): Promise<OpenClient> {
  const client = wsClient(url, options);
  defer(() => client.terminate());
  const messages = new Queue<ClientMessage>();
  client.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => client.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
      client.once('unexpected-response', (_req: unknown, res: { statusCode: number }) => reject(new Error(`unexpected response ${res.statusCode}`)));
    }),
    5000,
    `connect ${url}`,
  );
  return { client, messages, closed };
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Bytes after the head (for a 101: the first frames). */
  raw: Buffer;
}

/** Splits an HTTP response head from what follows; null until the head is complete. */
export function parseHead(bytes: Buffer): { answer: HttpAnswer; rest: Buffer } | null {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]!);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = bytes.subarray(end + 4);
  return { answer: { status: Number(m[1]), statusText: m[2]!, headers, body: Buffer.alloc(0), raw: rest }, rest };
}

/** A handshake request as text; headers with value null are left out. */
export function handshakeRequest(path = '/', headers: Record<string, string | null> = {}, requestLine?: string): string {
  const base: Record<string, string | null> = {
    Host: `${HOST}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
  };
  for (const [name, value] of Object.entries(headers)) {
    const existing = Object.keys(base).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing) delete base[existing];
    base[name] = value;
  }
  let text = `${requestLine ?? `GET ${path} HTTP/1.1`}\r\n`;
  for (const [name, value] of Object.entries(base)) if (value !== null) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

/**
 * Writes a request on a fresh socket and reads until the server closes it
 * (or, for a 101, until the head is in). `closed` tells whether the server
 * closed the connection (it always should after an error answer); the wait
 * is bounded, and an answer without the close is still returned. With
 * waitForClose false, a complete answer (by Content-Length) is enough.
 */
export async function rawHttp(port: number, request: string | Buffer, ms = 3000, waitForClose = true): Promise<HttpAnswer & { closed: boolean }> {
  const socket = net.connect({ host: HOST, port });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  let closed = false;
  try {
    await withTimeout(once(socket, 'connect', ms), ms, 'connect');
    socket.write(request);
    await withTimeout(
      new Promise<void>((resolve) => {
        socket.on('data', (c: Buffer) => {
          chunks.push(c);
          // A 101 keeps the connection open: that answer is complete with its head.
          const head = parseHead(Buffer.concat(chunks));
          if (head?.answer.status === 101) resolve();
          else if (head && !waitForClose && bodyOf(head.answer.headers, head.rest) !== null) resolve();
        });
        socket.once('close', () => {
          closed = true;
          resolve();
        });
      }),
      ms,
      'server closing the connection',
    );
  } catch (error) {
    if (chunks.length === 0) throw error;
  } finally {
    socket.destroy();
  }
  const all = Buffer.concat(chunks);
  const parsed = parseHead(all);
  if (!parsed) throw new Error(`no complete HTTP head in ${JSON.stringify(all.toString('latin1'))}`);
  return { ...parsed.answer, body: bodyOf(parsed.answer.headers, parsed.rest) ?? parsed.rest, closed };
}

/** The body by Content-Length or chunked encoding; null while incomplete. */
function bodyOf(headers: Record<string, string>, rest: Buffer): Buffer | null {
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let p = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', p);
      if (eol === -1) return null;
      const size = parseInt(rest.subarray(p, eol).toString('latin1'), 16);
      if (size === 0) return Buffer.concat(parts);
      if (rest.length < eol + 2 + size + 2) return null;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      p = eol + 2 + size + 2;
    }
  }
  const length = headers['content-length'];
  if (length === undefined) return null;
  return rest.length >= Number(length) ? rest.subarray(0, Number(length)) : null;
}

export interface RawFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Code and reason of a close frame payload (1005 when empty). */
export function closePayload(payload: Buffer): { code: number; reason: string } {
  return payload.length >= 2 ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() } : { code: 1005, reason: '' };
}

/** Incremental frame parser: chunks are kept as they come and joined only once per payload. */
class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly onFrame: (f: RawFrame) => void) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 2) return;
      const head = this.peek(Math.min(14, this.buffered));
      let length = head[1]! & 0x7f;
      let hl = 2;
      if (length === 126) {
        if (head.length < 4) return;
        length = head.readUInt16BE(2);
        hl = 4;
      } else if (length === 127) {
        if (head.length < 10) return;
        length = Number(head.readBigUInt64BE(2));
        hl = 10;
      }
      const masked = (head[1]! & 0x80) !== 0;
      if (masked) hl += 4;
      if (this.buffered < hl + length) return;
      const header = this.take(hl);
      const payload = Buffer.from(this.take(length));
      if (masked) for (let i = 0; i < length; i++) payload[i] = payload[i]! ^ header[hl - 4 + (i & 3)]!;
      this.onFrame({ fin: (header[0]! & 0x80) !== 0, rsv: (header[0]! >> 4) & 7, opcode: header[0]! & 0x0f, masked, payload });
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const parts: Buffer[] = [];
    let have = 0;
    for (const c of this.chunks) {
      if (have >= n) break;
      parts.push(c);
      have += c.length;
    }
    return Buffer.concat(parts).subarray(0, n);
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const c = this.chunks[0]!;
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    return Buffer.concat(parts, n);
  }
}

/**
 * A client on a bare TCP socket: sends the handshake itself, then parses
 * the server's frames into `frames` and writes masked frames built by
 * test/helpers.ts. It answers nothing on its own (no pong, no close reply).
 */
export class RawClient {
  readonly frames = new Queue<RawFrame>();
  /** Resolves when the server ends its side (FIN) or the socket closes. */
  readonly ended: Promise<void>;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  answer!: HttpAnswer;
  private parser = new FrameParser((f) => this.frames.push(f));

  private constructor(readonly socket: net.Socket) {
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.ended = new Promise((resolve) => {
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
    });
  }

  /** Connects and completes the handshake (throws unless the answer is 101); extra bytes go out with the request. */
  static async connect(port: number, options: { path?: string; headers?: Record<string, string | null>; after?: Buffer } = {}): Promise<RawClient> {
    const socket = net.connect({ host: HOST, port });
    const raw = new RawClient(socket);
    await once(socket, 'connect');
    const request = Buffer.from(handshakeRequest(options.path ?? '/', options.headers ?? {}), 'latin1');
    socket.write(options.after ? Buffer.concat([request, options.after]) : request);
    let buffered = Buffer.alloc(0);
    const answer = await withTimeout(
      new Promise<HttpAnswer>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk]);
          let parsed;
          try {
            parsed = parseHead(buffered);
          } catch (error) {
            reject(error);
            return;
          }
          if (!parsed) return;
          socket.removeListener('data', onData);
          socket.on('data', (c: Buffer) => raw.parser.push(c));
          resolve(parsed.answer);
          if (parsed.rest.length > 0) raw.parser.push(Buffer.from(parsed.rest));
        };
        socket.on('data', onData);
        socket.once('close', () => reject(new Error('closed during the handshake')));
      }),
      5000,
      'raw handshake',
    );
    raw.answer = answer;
    if (answer.status !== 101) {
      socket.destroy();
      throw new Error(`handshake answered ${answer.status}`);
    }
    return raw;
  }

  /** Writes a frame, masked unless spec.mask is false. Returns socket.write's result. */
  send(spec: FrameSpec): boolean {
    return this.socket.write(frame({ mask: true, ...spec }));
  }

  sendText(text: string): boolean {
    return this.send({ opcode: 1, payload: text });
  }

  sendClose(code?: number, reason = ''): boolean {
    const payload = code === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);
    return this.send({ opcode: 8, payload });
  }

  /** The next frame of the given opcode, skipping (and returning) the others seen before it. */
  async nextOf(opcode: number, ms = 5000): Promise<{ frame: RawFrame; skipped: RawFrame[] }> {
    const skipped: RawFrame[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.frames.next(Math.max(1, deadline - Date.now()), `frame with opcode ${opcode}`);
      if (f.opcode === opcode) return { frame: f, skipped };
      skipped.push(f);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A RawClient destroyed after the test. */
export async function rawConnect(defer: (fn: () => unknown) => void, port: number, options?: Parameters<typeof RawClient.connect>[1]): Promise<RawClient> {
  const raw = await RawClient.connect(port, options);
  defer(() => raw.destroy());
  return raw;
}
