/**
 * What connect() rejects with when the server is reached but refuses (UnexpectedResponseError) or cannot be reached
 * at all (ConnectError). Both name the URL, so that an application with several endpoints can tell which one failed;
 * a ConnectError adds a hint for the mistakes seen most (nothing listening, TLS on one side only) and keeps Node's
 * error as `cause` and its `code`, so that code checking `error.code === 'ECONNREFUSED'` keeps working.
 */
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { WsboltError } from '../core/errors.js';
import { refusedChannel } from './diagnostics.js';

/** How much of a refusal's body the message shows (the whole body is in `body`). */
const BODY_IN_MESSAGE = 200;

/** The server answered the handshake with something other than 101: code 'ERR_UNEXPECTED_RESPONSE'. */
export class UnexpectedResponseError extends WsboltError {
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: Buffer,
    /** The URL whose server answered (after redirects, the last one), without user and password. */
    readonly url: string = '',
  ) {
    super(
      'ERR_UNEXPECTED_RESPONSE',
      `${url ? `${url}: ` : ''}the server refused the WebSocket handshake with ${describeStatus(status)}${bodyExcerpt(headers, body)}`,
    );
    this.name = 'UnexpectedResponseError';
  }
}

/** The connection or its TLS handshake failed before any HTTP answer: `code` and `cause` are Node's error's. */
export class ConnectError extends WsboltError {
  constructor(
    /** The URL that could not be reached, without user and password. */
    readonly url: string,
    message: string,
    code: string,
    cause: Error,
  ) {
    super(code, message, undefined, { cause });
    this.name = 'ConnectError';
  }
}

function describeStatus(status: number): string {
  const text = STATUS_CODES[status];
  return text ? `${status} ${text}` : String(status);
}

function bodyExcerpt(headers: IncomingHttpHeaders, body: Buffer): string {
  const type = headers['content-type'] ?? 'text/plain';
  if (body.length === 0 || !/^text\/|json/i.test(type)) return '';
  const text = body.subarray(0, BODY_IN_MESSAGE).toString('utf8').replace(/\s+/g, ' ').trim();
  return text ? `: ${text}${body.length > BODY_IN_MESSAGE ? '…' : ''}` : '';
}

/** A URL as errors and trace lines show it: user and password removed, since messages end up in logs. */
export function displayUrl(url: string | URL): string {
  try {
    const copy = new URL(url);
    copy.username = '';
    copy.password = '';
    return copy.href;
  } catch {
    return String(url);
  }
}

/** The OpenSSL reasons a TLS client gets from a peer that answered in plain text. */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|record layer failure|http request/i;

/**
 * Node's error from the handshake request, wrapped with the URL and, where the cause is a known mistake, a hint. An
 * error without a code is the caller's own (from checkServerIdentity, createConnection, an agent): it stays as it is.
 */
export function explainConnectError(error: Error, url: URL, secure: boolean): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof WsboltError || typeof code !== 'string') return error;
  const other = (scheme: string) => `${scheme}//${url.host}${url.pathname}${url.search}`;
  let hint = '';
  if (code === 'ECONNREFUSED') hint = `: nothing listens on ${url.host} — is the server running?`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') hint = `: the host name ${url.hostname} did not resolve`;
  else if (secure && (NOT_TLS.test(error.message) || code.startsWith('ERR_SSL_') || code === 'EPROTO'))
    hint = ` — the server does not speak TLS on this port: try ${other('ws:')}`;
  else if (!secure && (code.startsWith('HPE_') || code === 'ECONNRESET')) hint = ` — the server may speak TLS on this port: try ${other('wss:')}`;
  else if (secure && /certificate|CERT/.test(`${code} ${error.message}`))
    hint = ' — the server’s certificate is not trusted: pass its CA as `ca`, or fix the certificate';
  const what = code === 'ECONNREFUSED' ? `connection refused (${code})` : `${reasonOf(error)} (${code})`;
  const shown = displayUrl(url);
  return new ConnectError(shown, `${shown}: ${what}${hint}`, code, error);
}

/** An OpenSSL error's reason ('wrong version number') rather than its whole dump; another error's first line. */
function reasonOf(error: Error): string {
  const ssl = /routines:[^:]*:([^:]+):/.exec(error.message);
  if (ssl) return `TLS handshake failed: ${ssl[1]}`;
  return error.message.split('\n')[0].replace(/ \(?[A-Z_]+\)?$/, '');
}

/**
 * A refusal's body, read from the response (HTTP/1.1) or the stream (HTTP/2) until one of `ends`, keeping at most
 * `limit` bytes; then the UnexpectedResponseError, published on diagnostics_channel unless the handshake already
 * ended otherwise (a timeout, an abort), and handed to settle.
 */
export function collectRefusal(
  body: Readable,
  ends: readonly string[],
  limit: number,
  refusal: { status: number; headers: IncomingHttpHeaders; url: URL },
  settle: (error: Error) => void,
  settled: () => boolean,
): void {
  const parts: Buffer[] = [];
  let size = 0;
  body.on('data', (chunk: Buffer) => {
    if (size < limit) parts.push(chunk.subarray(0, limit - size));
    size += chunk.length;
  });
  const done = () => {
    const { status, headers, url } = refusal;
    const error = new UnexpectedResponseError(status, headers, Buffer.concat(parts), displayUrl(url));
    if (refusedChannel.hasSubscribers && !settled()) refusedChannel.publish({ role: 'client', status, url: error.url, error });
    settle(error);
  };
  for (const event of ends) body.once(event, done);
}
