/**
 * Helpers for the adversarial tests: a wsbolt server in a child process
 * (server-child.cjs) driven over IPC, an honest `ws` client that measures
 * echo round trips while an attack runs, raw sockets that speak the handshake
 * and frames by hand. Nothing here sleeps: waits are for events, bounded by
 * timeouts that fail the test.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import WsClient from 'ws';

export const HOST = '127.0.0.1';
export const MiB = 1024 * 1024;
/** Upper bound for an honest client's echo round trip while an attack runs (ADVERSARIAL_RTT_MS overrides). */
export const RTT_BOUND_MS = Number(process.env.ADVERSARIAL_RTT_MS ?? 500);
/**
 * A bound on the server's RSS growth. The bounds are for Node's usual allocator;
 * under ASan (`npm run test:asan`) every malloc goes through ASan's, which keeps
 * more resident (redzones, size classes that are not merged):
 * ADVERSARIAL_RSS_FACTOR scales them there.
 */
export const rssBound = (bytes: number): number => bytes * Number(process.env.ADVERSARIAL_RSS_FACTOR ?? 1);

import { useCleanup, withTimeout } from '../support.js';
export { useCleanup, withTimeout };


/** The ASan runtime is preloaded (`npm run test:asan`, scripts/fuzz/build-asan.sh). */
const SANITIZED = /libasan|libclang_rt\.asan/.test(process.env.LD_PRELOAD ?? '');

/**
 * Under ASan, `ulimit -v` cannot apply: the runtime reserves terabytes of
 * address space for its shadow memory and the child would not start. ASan's
 * allocator makes large allocations fail instead (every one above 8 MiB, so
 * each 16 MiB reservation; under the ulimit, those past the limit). It warns
 * on each failure: to the child's stderr rather than the run's report files,
 * where anything fails the run (a real finding still kills the server).
 */
function sanitizerAllocationLimit(): NodeJS.ProcessEnv {
  return { ...process.env, ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:allocator_may_return_null=1:max_allocation_size_mb=8:log_path=stderr` };
}

/** The soft limit on open files of this process (ulimit -n). */
export function fdLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 1024;
}

// ---- the server child ----------------------------------------------------------

export interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  peakRss: number;
  peakBuffered: number;
  anyPaused: boolean;
}

export interface Stats {
  connections: number;
  opened: number;
  closed: number;
  closes: Record<string, number>;
  lastCloses: { code: number; kind: string; error?: string }[];
  uncaught: number;
  messages: number;
  messageBytes: number;
}

export class ServerChild extends EventEmitter {
  port = 0;
  backend = '';
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;
  stderr = '';
  private nextId = 1;
  private readonly pending = new Map<number, (value: any) => void>();

  private constructor(readonly child: ChildProcess) {
    super();
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        for (const settle of this.pending.values()) settle({ error: `the server exited (${code})` });
        this.pending.clear();
        resolve(code);
      }),
    );
    child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += d.toString();
    });
    child.on('message', (msg: any) => {
      if (msg.re !== undefined) {
        this.pending.get(msg.re)?.(msg);
        this.pending.delete(msg.re);
      } else if (msg.event) {
        this.emit(msg.event, msg);
      }
    });
  }

  /** limits.virtualKb: run the child under `ulimit -v` (RLIMIT_AS), so that large allocations fail as on a host that does not overcommit. */
  static async start(options: Record<string, unknown> = {}, defer?: (fn: () => unknown) => void, limits: { virtualKb?: number } = {}): Promise<ServerChild> {
    const script = path.join(__dirname, 'server-child.cjs');
    const child =
      limits.virtualKb && !SANITIZED
        ? spawn('sh', ['-c', `ulimit -v ${limits.virtualKb} && exec "$0" "$@"`, process.execPath, '--expose-gc', script, JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
        : fork(script, [JSON.stringify(options)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: limits.virtualKb ? sanitizerAllocationLimit() : process.env });
    const server = new ServerChild(child);
    defer?.(() => server.stop());
    const listening = await withTimeout(
      new Promise<any>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('fatal', (m: any) => reject(new Error(m.error)));
        void server.exited.then((code) => reject(new Error(`server child exited with ${code}: ${server.stderr}`)));
      }),
      20_000,
      'server child listening',
    );
    server.port = listening.port;
    server.backend = listening.backend;
    // The child follows WSBOLT_NO_NATIVE: it must run the backend this project is about.
    const expected = process.env.WSBOLT_EXPECT_BACKEND;
    if (expected && server.backend !== expected) throw new Error(`the server child runs the ${server.backend} backend, expected ${expected} (is the addon built?)`);
    return server;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  request<T = any>(cmd: string, args: Record<string, unknown> = {}, ms = 20_000): Promise<T> {
    const id = this.nextId++;
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        if (!this.alive) {
          reject(new Error(`the server child is gone (exit ${this.exitCode}): ${this.stderr}`));
          return;
        }
        this.pending.set(id, (msg) => (msg.error ? reject(new Error(msg.error)) : resolve(msg)));
        this.child.send({ id, cmd, ...args });
      }),
      ms,
      `server child command ${cmd}`,
    );
  }

  mem(gc = false): Promise<Mem> {
    return this.request(gc ? 'gc' : 'mem');
  }

  stats(): Promise<Stats> {
    return this.request('stats');
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    try {
      await this.request('exit', {}, 3000);
    } catch {
      // fall through to kill
    }
    if (this.alive) this.child.kill('SIGKILL');
    await withTimeout(this.exited, 5000, 'server child exit').catch(() => {});
  }

  /** Resolves (with the stats) once the server has `connections` open and at least `opened`/`closed` opened/closed; bounded by ms. */
  until(cond: { connections?: number; opened?: number; closed?: number }, ms: number, label: string): Promise<Stats> {
    return this.request<Stats>('until', { cond }, ms).catch(async (error) => {
      const last = await this.stats().catch(() => null);
      throw new Error(`${label}: ${(error as Error).message} (last stats ${JSON.stringify(last)})`);
    });
  }
}

// ---- the honest client ------------------------------------------------------------

export interface Prober {
  /** One echo round trip, in ms (rejects after 5 s). */
  rtt(): Promise<number>;
  /** Round trips back to back until `until` settles; returns every measured time. */
  during(until: Promise<unknown>): Promise<number[]>;
  close(): void;
}

export async function prober(port: number, defer?: (fn: () => unknown) => void, path = '/'): Promise<Prober> {
  const client = new WsClient(`ws://${HOST}:${port}${path}`);
  client.on('error', () => {});
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    }),
    10_000,
    'prober connect',
  );
  defer?.(() => client.terminate());
  let seq = 0;
  const rtt = () =>
    withTimeout(
      new Promise<number>((resolve, reject) => {
        const tag = `probe-${++seq}`;
        const start = performance.now();
        const onMessage = (data: Buffer) => {
          if (data.toString() !== tag) return;
          client.off('message', onMessage);
          resolve(performance.now() - start);
        };
        client.on('message', onMessage);
        client.send(tag, (error?: Error) => error && reject(error));
      }),
      5000,
      'echo round trip',
    );
  return {
    rtt,
    async during(until: Promise<unknown>) {
      let done = false;
      void until.then(
        () => (done = true),
        () => (done = true),
      );
      const times: number[] = [];
      while (!done && times.length < 100_000) {
        times.push(await rtt());
        // Let the attack's own I/O through between probes.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (times.length === 0) times.push(await rtt());
      return times;
    },
    close: () => client.terminate(),
  };
}

export function summarize(times: number[]): { n: number; median: number; p95: number; max: number } {
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { n: s.length, median: Math.round(at(0.5) * 10) / 10, p95: Math.round(at(0.95) * 10) / 10, max: Math.round((s[s.length - 1] ?? 0) * 10) / 10 };
}

// ---- raw sockets ------------------------------------------------------------------------

export const acceptFor = (key: string) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** A handshake request; header values null are left out, extra raw lines appended as they are. */
export function handshake(headers: Record<string, string | null> = {}, requestLine = 'GET / HTTP/1.1', extraLines: string[] = []): string {
  const base: Record<string, string | null> = {
    Host: HOST,
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
  let text = `${requestLine}\r\n`;
  for (const [name, value] of Object.entries(base)) if (value !== null) text += `${name}: ${value}\r\n`;
  for (const line of extraLines) text += `${line}\r\n`;
  return `${text}\r\n`;
}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Builds a client frame (masked unless mask is false). */
export function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0), options: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const n = body.length;
  const mask = options.mask !== false;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | (options.rsv ?? 0) | opcode];
  const m = mask ? 0x80 : 0;
  if (n < 126) head.push(m | n);
  else if (n < 65536) head.push(m | 126, n >> 8, n & 0xff);
  else {
    head.push(m | 127);
    const big = BigInt(n);
    for (let i = 7; i >= 0; i--) head.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), body]);
  const key = randomBytes(4);
  const masked = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) masked[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/** A frame header claiming `length` bytes (a bigint, written as a 64-bit length), masked. */
export function claimHeader(opcode: number, length: bigint, fin = true): Buffer {
  const head = Buffer.alloc(14);
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(length, 2);
  head.writeUInt32BE(0x11223344, 10);
  return head;
}

export class RawSocket {
  readonly frames: Frame[] = [];
  head = '';
  status = 0;
  /** Bytes received after the HTTP head. */
  private pending: Buffer = Buffer.alloc(0);
  private headDone = false;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  /** Set when the server sent a TCP FIN (end) or the socket closed. */
  ended = false;

  constructor(readonly socket: net.Socket) {
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawSocket> {
    const socket = net.connect({ host: HOST, port });
    const raw = new RawSocket(socket);
    return withTimeout(
      new Promise<RawSocket>((resolve, reject) => {
        socket.once('connect', () => resolve(raw));
        socket.once('error', reject);
      }),
      10_000,
      'raw connect',
    );
  }

  /** Connects, sends the handshake (with `after` appended), waits for the answer head. */
  static async upgrade(port: number, headers: Record<string, string | null> = {}, after?: Buffer, path = '/'): Promise<RawSocket> {
    const raw = await RawSocket.connect(port);
    const request = Buffer.from(handshake(headers, `GET ${path} HTTP/1.1`), 'latin1');
    raw.socket.write(after ? Buffer.concat([request, after]) : request);
    await raw.waitFor(() => raw.headDone, 10_000, 'handshake answer');
    if (raw.status !== 101) throw new Error(`handshake answered ${raw.status}: ${raw.head}`);
    return raw;
  }

  private wake(): void {
    const list = this.waiters;
    this.waiters = [];
    for (const w of list) w();
  }

  /** Resolves once cond() holds, re-checked on every byte received and at close; bounded by ms. */
  waitFor(cond: () => boolean, ms: number, label: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (cond()) resolve();
          else if (this.isClosed) reject(new Error(`${label}: the socket closed first`));
          else this.waiters.push(check);
        };
        this.waiters.push(check);
      }),
      ms,
      label,
    );
  }

  /** The first close frame's code (1005 for an empty one), waiting at most ms. */
  async closeCode(ms = 5000): Promise<number> {
    await this.waitFor(() => this.frames.some((f) => f.opcode === 8), ms, 'close frame');
    const f = this.frames.find((x) => x.opcode === 8)!;
    return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.headDone) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end === -1) {
        this.wake();
        return;
      }
      this.head = this.pending.subarray(0, end).toString('latin1');
      this.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(this.head)?.[1] ?? 0);
      this.headDone = true;
      this.pending = this.pending.subarray(end + 4);
    }
    for (;;) {
      const b = this.pending;
      if (b.length < 2) break;
      let len = b[1]! & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        hl = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        hl = 10;
      }
      if (b.length < hl + len) break;
      // Keep only small payloads (control frames, probes); big ones only count.
      this.frames.push({ fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload: len <= 4096 ? Buffer.from(b.subarray(hl, hl + len)) : Buffer.alloc(0) });
      this.bytesReceived += len;
      this.pending = b.subarray(hl + len);
    }
    this.wake();
  }

  bytesReceived = 0;

  get headReceived(): boolean {
    return this.headDone;
  }

  write(bytes: Buffer | string): boolean {
    return this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends a raw HTTP request and returns the status line's code (0 if the server closed without one) and the head. */
export async function rawRequest(port: number, request: string | Buffer, ms = 5000): Promise<{ status: number; head: string; closed: boolean }> {
  const raw = await RawSocket.connect(port);
  raw.write(request);
  try {
    await raw.waitFor(() => raw.headReceived || raw.ended, ms, 'HTTP answer');
  } catch {
    // no answer within ms: reported as status 0
  }
  // An error answer must be followed by the server closing the connection.
  let closed = raw.isClosed || raw.ended;
  if (raw.status !== 101 && !closed) {
    closed = await withTimeout(raw.closed.then(() => true), 2000, 'close after the answer').catch(() => false);
  }
  raw.destroy();
  return { status: raw.status, head: raw.head, closed };
}
