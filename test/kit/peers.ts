/**
 * Honest peers for a wsbolt under test: wsbolt's server on an ephemeral
 * port, and `ws` clients (an independent implementation) with their
 * messages queued and their close awaited.
 */
import type { EventEmitter } from 'node:events';
import WsClient from 'ws';
import { serve, type ServeOptions, type Server } from '../../src/index.js';
import { HOST } from './net.js';
import { Queue, withTimeout } from './wait.js';

/** serve() on 127.0.0.1 and an ephemeral port (unless options.port), closed after the test. */
export async function startServer<T = unknown>(defer: (fn: () => unknown) => void, options: ServeOptions<T> = {}): Promise<Server<T>> {
  const server = await serve<T>({ host: HOST, port: 0, ...options });
  defer(() => server.close({ timeout: 200 }));
  return server;
}

/** The part of a `ws` client the tests use (the package ships no types: see test/shims.d.ts). */
export interface WsClientLike extends EventEmitter {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean; fin?: boolean }): void;
  ping(data?: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** `ws` client options (ws passes most of them on to http/https/tls). */
export type WsClientOptions = {
  protocols?: string | string[];
  origin?: string;
  headers?: Record<string, string>;
  ca?: Buffer;
  rejectUnauthorized?: boolean;
} & Record<string, unknown>;

/** A `ws` client, not yet open (errors are swallowed; watch 'open', 'close', 'unexpected-response'). */
export function wsClient(url: string, options: WsClientOptions = {}): WsClientLike {
  const { protocols, ...rest } = options;
  const client: WsClientLike = new WsClient(url, protocols, rest);
  client.on('error', () => {});
  return client;
}

export interface Received {
  data: Buffer;
  isBinary: boolean;
}

export interface OpenClient {
  client: WsClientLike;
  messages: Queue<Received>;
  /** Text messages parsed as JSON, in order (binary ones and text that is not JSON are left out). */
  json: Queue<any>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A `ws` client, open, with its messages queued and its close awaited; terminated after the test. */
export async function wsConnect(defer: (fn: () => unknown) => void, url: string, options: WsClientOptions = {}): Promise<OpenClient> {
  const client = wsClient(url, options);
  defer(() => client.terminate());
  const messages = new Queue<Received>('message');
  const json = new Queue<any>('JSON message');
  client.on('message', (data: Buffer, isBinary: boolean) => {
    messages.push({ data, isBinary });
    if (!isBinary) {
      try {
        json.push(JSON.parse(data.toString()));
      } catch {
        // not JSON: only in messages
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    client.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
      client.once('unexpected-response', (_req: unknown, res: { statusCode: number }) => reject(new Error(`unexpected response ${res.statusCode}`)));
    }),
    5000,
    `connect ${url}`,
  );
  return { client, messages, json, closed };
}

/**
 * The Node socket under a wsbolt connection carried by a StreamTransport (for byte counters and flow control in
 * tests): open such connections with `transport: 'stream'`, since the native transport has no Node socket.
 */
export function socketOf(ws: { io: unknown }): import('node:net').Socket {
  const io = ws.io as { kind: string; stream?: import('node:net').Socket };
  if (io.kind !== 'stream' || !io.stream) throw new Error("this connection is not carried by a stream transport (open it with transport: 'stream')");
  return io.stream;
}

/**
 * The transport a plain TCP connection gets in this vitest project (WSBOLT_EXPECT_TRANSPORT): 'native' where the
 * addon adopts sockets, 'stream' with WSBOLT_TRANSPORT=stream or WSBOLT_NO_NATIVE=1.
 */
export const expectedTransport: 'native' | 'stream' =
  (process.env.WSBOLT_EXPECT_TRANSPORT as 'native' | 'stream' | undefined) ||
  (process.env.WSBOLT_NO_NATIVE || process.env.WSBOLT_TRANSPORT === 'stream' ? 'stream' : 'native');
