/**
 * The opening handshake as text (RFC 6455 §4.1, §4.2): requests built by
 * hand, request and response heads parsed, and one request answered over a
 * bare TCP socket.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { HOST } from './net.js';
import { once, withTimeout } from './wait.js';
import { acceptFor } from './wire.js';

/**
 * A handshake request as text: a valid one (with a fresh key) unless headers
 * change it. A header given replaces the one of the same name (any case) in
 * place; a value null leaves it out. extraLines are appended as they are.
 */
export function handshakeRequest(
  path = '/',
  headers: Record<string, string | null> = {},
  requestLine = `GET ${path} HTTP/1.1`,
  extraLines: string[] = [],
): string {
  const base: [string, string | null][] = [
    ['Host', HOST],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
    ['Sec-WebSocket-Version', '13'],
  ];
  for (const [name, value] of Object.entries(headers)) {
    const at = base.findIndex(([k]) => k.toLowerCase() === name.toLowerCase());
    if (at >= 0) base[at] = [name, value];
    else base.push([name, value]);
  }
  let text = `${requestLine}\r\n`;
  for (const [name, value] of base) if (value !== null) text += `${name}: ${value}\r\n`;
  for (const line of extraLines) text += `${line}\r\n`;
  return `${text}\r\n`;
}

/** Header lines by lower-case name; repeated headers joined with ", ". */
function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

export interface HttpAnswer {
  statusLine: string;
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
  const rest = bytes.subarray(end + 4);
  return {
    answer: { statusLine: lines[0]!, status: Number(m[1]), statusText: m[2]!, headers: parseHeaderLines(lines.slice(1)), body: Buffer.alloc(0), raw: rest },
    rest,
  };
}

export interface RawRequest {
  /** The whole head as text, without the blank line. */
  head: string;
  requestLine: string;
  method: string;
  target: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Bytes after the request head. */
  rest: Buffer;
}

/** Reads one HTTP request head from the socket, then pauses it (the caller resumes when it reads on). */
export function readRequest(socket: net.Socket): Promise<RawRequest> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      const head = buffered.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const requestLine = lines.shift()!;
      const [method = '', target = ''] = requestLine.split(' ');
      socket.pause();
      resolve({ head, requestLine, method, target, headers: parseHeaderLines(lines), rest: buffered.subarray(end + 4) });
    };
    const onClose = () => reject(new Error('the client went away before its request head was complete'));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** A correct 101 for a request, with optional extra header lines. */
export function switchingProtocols(request: { headers: Record<string, string> }, extra: string[] = []): string {
  const accept = acceptFor(request.headers['sec-websocket-key'] ?? '');
  return ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, ...extra, '', ''].join('\r\n');
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
