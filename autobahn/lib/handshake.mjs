/**
 * The opening handshake (RFC 6455 section 4), both sides, on raw bytes.
 * Only what the fuzzer needs: it speaks HTTP/1.1 over a plain socket so it
 * controls every byte, and it never imports the library under test.
 */
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const HARNESS_NAME = 'wsbolt-autobahn-harness/1.0 (Autobahn|Testsuite case catalogue 25.10.1)';

export function acceptKey(key) {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export function newKey() {
  return randomBytes(16).toString('base64');
}

/** Splits off the HTTP head once "\r\n\r\n" arrived; null while incomplete. */
export function splitHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  return { head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) };
}

/** Parses a request or status line plus headers; header names lower-cased, repeats joined with ", ". */
export function parseHead(head) {
  const lines = head.split('\r\n');
  const first = lines.shift() ?? '';
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { first, headers };
}

const tokens = (v) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

/** The client's upgrade request. "Upgrade: WebSocket" is spelled as Autobahn spells it: servers must compare case-insensitively. */
export function clientRequest({ host, path, key, extensions }) {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `User-Agent: ${HARNESS_NAME}`,
    `Host: ${host}`,
    'Upgrade: WebSocket',
    'Connection: Upgrade',
    'Pragma: no-cache',
    'Cache-Control: no-cache',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Checks the server's answer; returns an error text or null. */
export function checkResponse({ first, headers }, key, offeredExtensions) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(first);
  if (!m) return `malformed status line: ${first}`;
  if (m[1] !== '101') return `expected status 101, got ${first}`;
  if (!tokens(headers.upgrade).includes('websocket')) return 'missing "Upgrade: websocket"';
  if (!tokens(headers.connection).includes('upgrade')) return 'missing "Connection: Upgrade"';
  if (headers['sec-websocket-accept'] !== acceptKey(key)) return 'wrong Sec-WebSocket-Accept';
  if (headers['sec-websocket-extensions'] && !offeredExtensions)
    return `server answered with extensions nobody offered: ${headers['sec-websocket-extensions']}`;
  return null;
}

/**
 * Validates a client's upgrade request; returns { error } or the fields the
 * fuzzing server needs.
 */
export function checkRequest({ first, headers }) {
  const m = /^GET (\S+) HTTP\/1\.1$/.exec(first);
  if (!m) return { error: `not a GET request: ${first}` };
  if (!tokens(headers.upgrade).includes('websocket')) return { error: 'missing "Upgrade: websocket"' };
  if (!tokens(headers.connection).includes('upgrade')) return { error: 'missing "Connection: Upgrade"' };
  if (headers['sec-websocket-version'] !== '13') return { error: 'Sec-WebSocket-Version must be 13' };
  const key = headers['sec-websocket-key'];
  if (!key || Buffer.from(key, 'base64').length !== 16) return { error: 'bad Sec-WebSocket-Key' };
  const url = new URL(m[1], 'ws://fuzzer.invalid');
  return { key, path: url.pathname, params: url.searchParams, extensions: headers['sec-websocket-extensions'] ?? null };
}

export function serverResponse(key, extensions) {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    `Server: ${HARNESS_NAME}`,
    'Upgrade: WebSocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
  ];
  if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

export function httpError(status, text) {
  const body = `${status} ${text}\n`;
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
