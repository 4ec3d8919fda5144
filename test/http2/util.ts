/**
 * HTTP/2 peers for the RFC 8441 tests: a wsbolt server attached to node:http2's secure server (allowHTTP1, the test
 * certificate), and a raw client that opens extended CONNECT streams by hand and speaks frames from the kit's wire.ts.
 */
import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { join } from 'node:path';
import { attach, type Server, type ServerOptions } from '../../src/index.js';
import { clientFrame, closeBody, deferred, FrameParser, HOST, type ParsedFrame, Queue, withTimeout } from '../kit/index.js';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures', name));
export const key = fixture('key.pem');
export const cert = fixture('cert.pem');

export interface H2Server<T> {
  server: Server<T>;
  http2Server: http2.Http2SecureServer;
  port: number;
  url: string;
}

/** An Http2SecureServer (HTTP/1.1 allowed) on 127.0.0.1 with wsbolt attached; plain requests get 'plain'. */
export async function h2Server<T = unknown>(
  defer: (fn: () => unknown) => void,
  options: ServerOptions<T>,
  onRequest: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void = (_req, res) => res.end('plain'),
): Promise<H2Server<T>> {
  const http2Server = http2.createSecureServer({ key, cert, allowHTTP1: true }, onRequest);
  const server = attach<T>(http2Server, options);
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => http2Server.listen(0, HOST, resolve));
  defer(async () => {
    await server.close({ timeout: 1000 });
    for (const s of sessions) s.destroy();
    await new Promise((resolve) => http2Server.close(resolve));
  });
  const port = (http2Server.address() as { port: number }).port;
  return { server, http2Server, port, url: `https://localhost:${port}` };
}

/** A client session to the server, once the server's SETTINGS have arrived (RFC 8441 §3: wait for them). */
export async function h2Session(defer: (fn: () => unknown) => void, port: number): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://localhost:${port}`, { ca: cert });
  session.on('error', () => {});
  defer(() => session.destroy());
  await withTimeout(new Promise((resolve) => session.once('remoteSettings', resolve)), 5000, 'remote SETTINGS');
  return session;
}

export interface RawStream {
  stream: http2.ClientHttp2Stream;
  status: number;
  headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
  frames: Queue<ParsedFrame>;
  /** The response body of a refusal. */
  body: Promise<string>;
  closed: Promise<void>;
  send(opcode: number, payload?: Buffer | string, options?: { fin?: boolean; rsv?: number }): void;
  close(code: number, reason?: string): void;
}

/** An extended CONNECT (RFC 8441 §4) on session, with headers replacing or adding to a valid request's (undefined drops one). */
export async function openStream(session: http2.ClientHttp2Session, path = '/', extra: Record<string, string | undefined> = {}): Promise<RawStream> {
  const headers: Record<string, string> = {};
  const base: Record<string, string | undefined> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': path,
    ':authority': `localhost`,
    'sec-websocket-version': '13',
    ...extra,
  };
  for (const [name, value] of Object.entries(base)) if (value !== undefined) headers[name] = value;
  const stream = session.request(headers);
  stream.on('error', () => {});
  const frames = new Queue<ParsedFrame>('frame');
  const parser = new FrameParser(frames.push);
  const body = deferred<string>();
  const closed = deferred<void>();
  stream.on('close', () => closed.resolve());
  const [responseHeaders] = await withTimeout(
    new Promise<[http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader]>((resolve, fail) => {
      stream.once('response', (h) => resolve([h]));
      stream.once('close', () => fail(new Error(`stream closed before a response (rstCode ${stream.rstCode})`)));
    }),
    5000,
    'response',
  );
  const status = Number(responseHeaders[':status']);
  if (status === 200) {
    stream.on('data', (chunk: Buffer) => parser.push(chunk));
    body.resolve('');
  } else {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => body.resolve(text));
  }
  return {
    stream,
    status,
    headers: responseHeaders,
    frames,
    body: body.promise,
    closed: closed.promise,
    send: (opcode, payload = Buffer.alloc(0), options = {}) => void stream.write(clientFrame(opcode, payload, options)),
    close: (code, reason = '') => void stream.write(clientFrame(8, closeBody(code, reason))),
  };
}
