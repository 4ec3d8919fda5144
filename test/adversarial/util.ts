/**
 * Helpers for the adversarial tests: a wsbolt server in a child process
 * (server-child.cjs) driven over IPC, an honest `ws` client that measures
 * echo round trips while an attack runs, and the kit's RawClient with a
 * bound on what it keeps (test/kit/raw-client.ts). Nothing here sleeps: waits are for events, bounded by
 * timeouts that fail the test.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import WsClient from 'ws';

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

import { HOST, RawClient, type UpgradeOptions, withTimeout } from '../kit/index.js';

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
        ? spawn('sh', ['-c', `ulimit -v ${limits.virtualKb} && exec "$0" "$@"`, process.execPath, '--expose-gc', script, JSON.stringify(options)], {
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          })
        : fork(script, [JSON.stringify(options)], {
            execArgv: ['--expose-gc'],
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
            env: limits.virtualKb ? sanitizerAllocationLimit() : process.env,
          });
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
    if (expected && server.backend !== expected)
      throw new Error(`the server child runs the ${server.backend} backend, expected ${expected} (is the addon built?)`);
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

/** Payloads kept by the raw clients here: control frames and probes; bigger ones are only counted. */
const KEEP_PAYLOAD_UP_TO = 4096;

/** A RawClient that completed the handshake. */
export function upgrade(port: number, options: Omit<UpgradeOptions, 'keepPayloadUpTo'> = {}): Promise<RawClient> {
  return RawClient.connect(port, { ...options, keepPayloadUpTo: KEEP_PAYLOAD_UP_TO });
}

/** A RawClient that sent nothing yet. */
export function openRaw(port: number): Promise<RawClient> {
  return RawClient.open(port, { keepPayloadUpTo: KEEP_PAYLOAD_UP_TO });
}

/** Sends a raw HTTP request and returns the status line's code (0 if the server closed without one) and the head. */
export async function rawRequest(port: number, request: string | Buffer, ms = 5000): Promise<{ status: number; head: string; closed: boolean }> {
  const raw = await openRaw(port);
  raw.write(request);
  try {
    await raw.waitFor(() => raw.headReceived || raw.isEnded, ms, 'HTTP answer');
  } catch {
    // no answer within ms: reported as status 0
  }
  // An error answer must be followed by the server closing the connection.
  let closed = raw.isClosed || raw.isEnded;
  if (raw.status !== 101 && !closed) {
    closed = await withTimeout(
      raw.closed.then(() => true),
      2000,
      'close after the answer',
    ).catch(() => false);
  }
  raw.destroy();
  return { status: raw.status, head: raw.head, closed };
}
