/**
 * The opening handshake (RFC 6455 §4), sans-I/O: validate a client's request
 * and build the server's answer; build a client's request and validate the
 * server's answer. Headers arrive as Node gives them (lower-case names).
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';
import { type TokenListGrammar, hasToken, isToken, splitTokenList } from './header-tokens.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export type Headers = Record<string, string | string[] | undefined>;

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2). */
export function acceptKey(key: string): string {
  // crypto.hash (Node >= 20.12) is one call with no Hash object: a handshake storm spent 2 % in createHash.
  return oneShotHash
    ? oneShotHash('sha1', key + GUID, 'base64')
    : createHash('sha1')
        .update(key + GUID)
        .digest('base64');
}

const oneShotHash = typeof crypto.hash === 'function' ? crypto.hash : null;

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function generateKey(): string {
  return randomBytes(16).toString('base64');
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export interface HandshakeRejection {
  status: number;
  reason: string;
  headers?: Record<string, string>;
}

export interface ValidRequest {
  key: string;
  /** Offered subprotocols, in the client's order of preference. */
  protocols: string[];
  /** The raw Sec-WebSocket-Extensions value, if any. */
  extensions: string | undefined;
}

/** A base64 string that decodes to exactly 16 bytes (§4.2.1 item 5). */
const isBase64Char = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;

/** The shape of 16 bytes in base64: 22 base64 characters and '=='. (ws accepts any key of this shape.) */
export function isKeyShaped(key: string): boolean {
  if (key.length !== 24 || key[22] !== '=' || key[23] !== '=') return false;
  for (let i = 0; i < 22; i++) if (!isBase64Char(key.charCodeAt(i))) return false;
  return true;
}

/** A Sec-WebSocket-Key (§4.2.1): the base64 encoding of exactly 16 bytes (no stray bits in its last character). */
export function isValidKey(key: string): boolean {
  return isKeyShaped(key) && Buffer.from(key, 'base64').toString('base64') === key;
}

/** Checks a client's opening handshake (§4.2.1); returns what the server needs or why it refuses. */
export function validateRequest(method: string | undefined, httpVersion: string, headers: Headers): ValidRequest | HandshakeRejection {
  if (method !== 'GET') return { status: 405, reason: 'the WebSocket handshake must use GET', headers: { Allow: 'GET' } };
  const [major, minor] = httpVersion.split('.').map(Number);
  if (!(major! > 1 || (major === 1 && minor! >= 1))) return { status: 400, reason: 'the WebSocket handshake needs HTTP/1.1' };
  if (!header(headers, 'host')) return { status: 400, reason: 'missing Host header' };
  if (!hasToken(header(headers, 'upgrade'), 'websocket')) return { status: 400, reason: 'missing or invalid Upgrade: websocket header' };
  if (!hasToken(header(headers, 'connection'), 'upgrade')) return { status: 400, reason: 'missing or invalid Connection: Upgrade header' };
  const version = checkVersion(headers);
  if (version) return version;
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !isValidKey(key.trim())) return { status: 400, reason: 'missing or invalid Sec-WebSocket-Key header' };
  return withOffers(key.trim(), headers);
}

/** Sec-WebSocket-Version must be 13 (§4.2.1 item 6); a refusal names the version we speak (§4.4). */
function checkVersion(headers: Headers): HandshakeRejection | null {
  const version = header(headers, 'sec-websocket-version');
  if (version?.trim() === '13') return null;
  return {
    status: version === undefined ? 400 : 426,
    reason: version === undefined ? 'missing Sec-WebSocket-Version header' : `unsupported Sec-WebSocket-Version ${version}`,
    headers: { 'Sec-WebSocket-Version': '13' },
  };
}

/** The request's subprotocol and extension offers (§4.2.1 items 8, 9), the same over HTTP/1.1 and HTTP/2. */
function withOffers(key: string, headers: Headers): ValidRequest | HandshakeRejection {
  let protocols: string[] = [];
  const offered = header(headers, 'sec-websocket-protocol');
  if (offered !== undefined) {
    const list = parseProtocolList(offered);
    if (list === 'invalid') return { status: 400, reason: 'invalid Sec-WebSocket-Protocol header' };
    if (list === 'duplicate') return { status: 400, reason: 'duplicate subprotocol in Sec-WebSocket-Protocol' };
    protocols = list;
  }
  return { key, protocols, extensions: header(headers, 'sec-websocket-extensions') };
}

/**
 * Checks an HTTP/2 extended CONNECT (RFC 8441 §4, §5): method CONNECT, :protocol websocket, :scheme and :path present,
 * Sec-WebSocket-Version 13. There is no Sec-WebSocket-Key (HTTP/2 itself proves the server understood the request),
 * so the result's key is ''. Subprotocols and extensions are offered as over HTTP/1.1.
 */
export function validateExtendedConnect(headers: Headers): ValidRequest | HandshakeRejection {
  if (headers[':method'] !== 'CONNECT') return { status: 405, reason: 'a WebSocket over HTTP/2 must use CONNECT', headers: { Allow: 'CONNECT' } };
  const protocol = header(headers, ':protocol');
  if (protocol !== 'websocket') return { status: 400, reason: protocol === undefined ? 'missing :protocol' : `unsupported :protocol ${protocol}` };
  if (!header(headers, ':path') || !header(headers, ':scheme')) return { status: 400, reason: 'an extended CONNECT needs :scheme and :path' };
  return checkVersion(headers) ?? withOffers('', headers);
}

/** The HTTP/2 response headers accepting an extended CONNECT (RFC 8441 §5): :status 200, the subprotocol, the extensions. */
export function buildExtendedConnectResponse(
  protocol: string | undefined,
  extensions: string | undefined,
  extraHeaders?: Record<string, string | number | readonly string[]>,
): Record<string, string | number | readonly string[]> {
  const response: Record<string, string | number | readonly string[]> = { ':status': 200 };
  if (protocol) response['sec-websocket-protocol'] = protocol;
  if (extensions) response['sec-websocket-extensions'] = extensions;
  for (const name of Object.keys(extraHeaders ?? {})) response[name.toLowerCase()] = extraHeaders![name]!;
  return response;
}

export type ProtocolListProblem = 'invalid' | 'duplicate';

/**
 * A Sec-WebSocket-Protocol value (§4.1 item 10, §11.3.4): tokens, each once (case-sensitive), in the client's
 * order. `strict` is the sender's grammar (see TokenListGrammar); wsbolt's server is lenient, wsbolt/ws strict as ws.
 */
export function parseProtocolList(value: string, grammar: TokenListGrammar = {}): string[] | ProtocolListProblem {
  const list = splitTokenList(value, grammar);
  if (list === null) return 'invalid';
  return new Set(list).size === list.length ? list : 'duplicate';
}

/** What is wrong with the subprotocols a client is about to offer (§4.1 item 10: non-empty tokens, each once), or null. */
export function protocolOfferProblem(protocols: readonly unknown[]): ProtocolListProblem | null {
  if (!protocols.every((p) => typeof p === 'string' && isToken(p))) return 'invalid';
  return new Set(protocols).size === protocols.length ? null : 'duplicate';
}

/** What is wrong with the subprotocol a server chose (§4.1, the client's duty: one of those offered, exactly), or null; choosing none is allowed. */
export function chosenProtocolProblem(chosen: string | undefined, offered: readonly string[]): 'none-offered' | 'not-offered' | null {
  if (chosen === undefined) return null;
  if (offered.length === 0) return 'none-offered';
  return offered.includes(chosen) ? null : 'not-offered';
}

export function isRejection(value: ValidRequest | HandshakeRejection): value is HandshakeRejection {
  return (value as HandshakeRejection).status !== undefined;
}

const hasLineBreak = (s: string) => s.includes('\r') || s.includes('\n');

/** Response headers as checkedHeaders() gives them: each value as its lines' texts. */
export type CheckedHeaders = Record<string, string[]>;

/**
 * Extra response headers read once into a plain object of strings, or a TypeError: names and values must not carry
 * CR or LF (they would split the response). Whatever reading them throws (a getter, a revoked Proxy) is thrown.
 */
export function checkedHeaders(headers: Record<string, string | number | readonly string[]> | undefined): CheckedHeaders {
  const out: CheckedHeaders = {};
  if (!headers) return out;
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    const lines = (Array.isArray(value) ? value : [value]).map(String);
    if (hasLineBreak(name) || lines.some(hasLineBreak)) throw new TypeError(`invalid header ${JSON.stringify(name)}`);
    out[name] = lines;
  }
  return out;
}

function safeHeaderLines(headers: Record<string, string | number | readonly string[]> | undefined): string {
  let out = '';
  const checked = checkedHeaders(headers);
  for (const name of Object.keys(checked)) for (const line of checked[name]!) out += `${name}: ${line}\r\n`;
  return out;
}

/** The 101 response accepting a handshake. */
export function buildAcceptResponse(
  key: string,
  protocol: string | undefined,
  extensions: string | undefined,
  extraHeaders?: Record<string, string | number | readonly string[]>,
): string {
  let response = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n`;
  if (protocol) response += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (extensions) response += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
  return response + safeHeaderLines(extraHeaders) + '\r\n';
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface RejectResponseOptions {
  /** The reason phrase of the status line; by default the standard one, or 'Error' for a status not in the table. */
  statusText?: string;
  /**
   * 'framed' (default): Connection: close and Content-Length first, then the caller's headers, then a Content-Type
   * when there is a body and the caller named none. 'given': the caller's header lines only, in its order, nothing
   * added (the caller frames the body itself): wsbolt/ws writes ws's refusals byte for byte this way.
   */
  headers?: 'framed' | 'given';
}

/** A complete HTTP error response; the connection is closed after it. Header names and values must not hold CR or LF. */
export function buildRejectResponse(
  status: number,
  body: string | Buffer = '',
  headers?: Record<string, string | number | readonly string[]>,
  options: RejectResponseOptions = {},
): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const text = options.statusText ?? STATUS_TEXT[status] ?? 'Error';
  if (hasLineBreak(text)) throw new TypeError(`invalid status text ${JSON.stringify(text)}`);
  let head = `HTTP/1.1 ${status} ${text}\r\n`;
  if (options.headers === 'given') {
    head += safeHeaderLines(headers);
  } else {
    const extra = { ...headers };
    const lower = new Set(Object.keys(extra).map((k) => k.toLowerCase()));
    if (!lower.has('content-type') && payload.length > 0) extra['Content-Type'] = 'text/plain; charset=utf-8';
    head += `Connection: close\r\nContent-Length: ${payload.length}\r\n` + safeHeaderLines(extra);
  }
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]);
}

export interface ClientRequestHeaders {
  key: string;
  protocols: string[];
  origin: string | undefined;
  extensions: string | undefined;
}

/** The headers a client sends to open a WebSocket (§4.1); the HTTP client adds Host. */
export function clientRequestHeaders(request: ClientRequestHeaders): Record<string, string> {
  const headers: Record<string, string> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': request.key,
  };
  if (request.protocols.length > 0) headers['Sec-WebSocket-Protocol'] = request.protocols.join(', ');
  if (request.origin !== undefined) headers.Origin = request.origin;
  if (request.extensions) headers['Sec-WebSocket-Extensions'] = request.extensions;
  return headers;
}

export interface AcceptedResponse {
  protocol: string;
  extensions: string;
}

/** Checks the server's 101 (§4.1, the client's duties); returns what was negotiated or why the handshake fails. */
export function validateResponse(headers: Headers, key: string, offeredProtocols: string[], offeredExtensions: boolean): AcceptedResponse | string {
  if (!hasToken(header(headers, 'upgrade'), 'websocket')) return 'the response lacks Upgrade: websocket';
  if (!hasToken(header(headers, 'connection'), 'upgrade')) return 'the response lacks Connection: Upgrade';
  const acceptHeader = header(headers, 'sec-websocket-accept');
  if (acceptHeader === undefined || acceptHeader.trim() !== acceptKey(key)) return 'invalid Sec-WebSocket-Accept';
  return acceptedChoices(headers, offeredProtocols, offeredExtensions);
}

/**
 * The headers of a client's extended CONNECT (RFC 8441 §4, §5): the pseudo-headers of the target, version 13 and the
 * offers, and no Sec-WebSocket-Key (HTTP/2 needs no proof that the server understood the request).
 */
export function extendedConnectHeaders(
  target: { scheme: 'http' | 'https'; authority: string; path: string },
  request: Omit<ClientRequestHeaders, 'key'>,
): Record<string, string> {
  const headers: Record<string, string> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': target.scheme,
    ':authority': target.authority,
    ':path': target.path,
    'sec-websocket-version': '13',
  };
  if (request.protocols.length > 0) headers['sec-websocket-protocol'] = request.protocols.join(', ');
  if (request.origin !== undefined) headers.origin = request.origin;
  if (request.extensions) headers['sec-websocket-extensions'] = request.extensions;
  return headers;
}

/** Checks the server's 2xx to an extended CONNECT (RFC 8441 §5: the stream is then the WebSocket); the same choices as a 101. */
export function validateExtendedConnectResponse(headers: Headers, offeredProtocols: string[], offeredExtensions: boolean): AcceptedResponse | string {
  return acceptedChoices(headers, offeredProtocols, offeredExtensions);
}

/** The subprotocol and extensions a server chose, checked against what was offered (§4.1, items 5 and 6 of the client's duties). */
function acceptedChoices(headers: Headers, offeredProtocols: string[], offeredExtensions: boolean): AcceptedResponse | string {
  const protocol = header(headers, 'sec-websocket-protocol');
  const protocolProblem = chosenProtocolProblem(protocol?.trim(), offeredProtocols);
  if (protocolProblem === 'none-offered') return 'the server chose a subprotocol although none was offered';
  if (protocolProblem === 'not-offered') return `the server chose a subprotocol that was not offered (${protocol})`;
  const extensions = header(headers, 'sec-websocket-extensions');
  if (extensions !== undefined && extensions.trim() !== '' && !offeredExtensions) return 'the server chose an extension that was not offered';
  return { protocol: protocol?.trim() ?? '', extensions: extensions?.trim() ?? '' };
}
