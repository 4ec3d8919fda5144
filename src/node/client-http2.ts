/**
 * The client over HTTP/2 (RFC 8441): an extended CONNECT on a session shared per origin (http2-sessions.ts), sent
 * once the server's SETTINGS advertise SETTINGS_ENABLE_CONNECT_PROTOCOL; the stream then carries the connection
 * through StreamTransport, with the same engine as every other connection. Without the setting: a typed error, or
 * (http2: 'prefer') the HTTP/1.1 handshake.
 */
import * as http2 from 'node:http2';
import { WsboltError } from '../core/errors.js';
import { extendedConnectHeaders, validateExtendedConnectResponse } from '../core/handshake.js';
import { acceptResponse, buildOffer } from '../extensions/negotiation.js';
import { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { abortError, type ConnectOptions, tlsOptions } from './client.js';
import { collectRefusal, displayUrl } from './client-errors.js';
import { WebSocket } from './connection.js';
import { resolveOptions } from './connection-options.js';
import { leaseSession } from './http2-sessions.js';
import { StreamTransport } from './stream-transport.js';
import { trace } from './trace.js';

const NOTHING = Buffer.alloc(0);

/** Opens a WebSocket as an extended CONNECT stream; fallback (http2: 'prefer') runs the HTTP/1.1 handshake instead. */
export function connectHttp2<T>(
  url: URL,
  secure: boolean,
  options: ConnectOptions<T>,
  deadline: number,
  fallback: (() => Promise<WebSocket<T>>) | null,
): Promise<WebSocket<T>> {
  const protocols = options.protocols === undefined ? [] : Array.isArray(options.protocols) ? options.protocols : [options.protocols];
  const deflateOptions =
    options.perMessageDeflate === false ? null : options.perMessageDeflate === true || options.perMessageDeflate === undefined ? {} : options.perMessageDeflate;
  const offer = deflateOptions ? buildOffer(deflateOptions) : undefined;
  const scheme = secure ? 'https' : 'http';
  const lease = leaseSession(`${scheme}://${url.host}`, secure ? { ...tlsOptions(options, url) } : {});
  trace('client connecting over HTTP/2 to %s', displayUrl(url));

  return new Promise<WebSocket<T>>((resolve, fail) => {
    let settled = false;
    let stream: http2.ClientHttp2Stream | null = null;
    const settle = (error: Error | null, ws?: WebSocket<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) {
        if (stream && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
        if (!stream) lease.release(); // else the stream's 'close' releases it
        fail(error);
      } else {
        resolve(ws!);
      }
    };
    const timer = setTimeout(
      () => settle(new WsboltError('ERR_HANDSHAKE_TIMEOUT', `the opening handshake with ${url.host} timed out`)),
      Math.max(0, deadline - Date.now()),
    );
    const onAbort = () => settle(abortError(url, options.signal!));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    lease.ready.then(
      (session) => {
        if (settled) return;
        if (!session.remoteSettings.enableConnectProtocol) {
          if (fallback) {
            settled = true;
            clearTimeout(timer);
            options.signal?.removeEventListener('abort', onAbort);
            lease.release();
            trace('client: %s does not advertise extended CONNECT; HTTP/1.1 instead', url.host);
            fallback().then(resolve, fail);
            return;
          }
          settle(new WsboltError('ERR_HTTP2_EXTENDED_CONNECT_UNSUPPORTED', `${url.host} does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441)`));
          return;
        }
        const extra: Record<string, string> = {};
        for (const [name, value] of Object.entries(options.headers ?? {})) extra[name.toLowerCase()] = value;
        const headers = {
          ...extra,
          ...extendedConnectHeaders(
            { scheme, authority: url.host, path: (url.pathname || '/') + url.search },
            { protocols, origin: options.origin, extensions: offer },
          ),
        };
        try {
          stream = session.request(headers);
        } catch (error) {
          settle(error as Error);
          return;
        }
        const opened = stream;
        opened.once('close', lease.release);
        opened.on('error', onStreamError);
        opened.once('close', onStreamClose);
        opened.once('response', (response) => onResponse(opened, response));
      },
      (error: Error) => settle(error),
    );

    const onStreamError = (error: Error) => settle(error);
    const onStreamClose = () => settle(new WsboltError('ERR_HTTP2_STREAM_RESET', `the stream closed before the response (code ${stream!.rstCode})`));

    const onResponse = (opened: http2.ClientHttp2Stream, response: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader) => {
      const status = Number(response[':status']);
      if (status < 200 || status > 299) {
        const limit = options.maxResponseBody ?? 64 * 1024;
        collectRefusal(opened, ['end', 'close'], limit, { status, headers: response, url }, settle, () => settled);
        return;
      }
      const checked = validateExtendedConnectResponse(response, protocols, offer !== undefined);
      const agreed = typeof checked === 'string' || !checked.extensions ? null : acceptResponse(checked.extensions, deflateOptions!);
      const problem = typeof checked === 'string' ? checked : typeof agreed === 'string' ? agreed : null;
      if (problem !== null || typeof checked === 'string') {
        settle(new WsboltError('ERR_INVALID_HANDSHAKE', problem ?? 'invalid handshake'));
        return;
      }
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // The connection owns the stream from here (its errors end the WebSocket); lease.release stays for the stream's 'close'.
      opened.removeListener('error', onStreamError);
      opened.removeListener('close', onStreamClose);
      trace('client connected over HTTP/2 to %s protocol=%s', displayUrl(url), checked.protocol || '-');
      const ws = new WebSocket<T>({
        io: new StreamTransport(opened),
        role: 'client',
        handler: options,
        options: resolveOptions(options),
        data: options.data as T,
        protocol: checked.protocol,
        extensions: checked.extensions,
        hub: null,
        deflate: agreed && typeof agreed !== 'string' ? new PerMessageDeflate(agreed, 'client', deflateOptions!) : null,
      });
      resolve(ws);
      ws.invoke('open');
      if (ws.readyState === 1) ws.receiveHead(NOTHING);
    };
  });
}
