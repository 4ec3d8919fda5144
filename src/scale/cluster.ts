/**
 * Several processes sharing one port (node:cluster), with pub/sub across
 * them. The same script runs in the primary and in every worker:
 *
 *   const c = await cluster({
 *     workers: 4,
 *     setup: ({ adapter }) => serve({ port: 8080, adapter, open(ws) { ws.subscribe('lobby'); } }),
 *   });
 *
 * In the primary, cluster() forks the workers, relays publishes between them
 * (src/scale/ipc.ts), replaces a worker that dies, and resolves once every
 * worker's setup has finished. In a worker it runs setup with an IPC adapter
 * and resolves with what setup returned.
 */
import nodeCluster, { type ClusterSettings, type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import { checkOptions } from '../node/options/check.js';
import { serve } from '../node/server/mount.js';
import type { ServeOptions } from '../node/server/options.js';
import type { Server } from '../node/server/server.js';
import { SERVE_CLUSTER_SCHEMA } from './options-schema.js';
import { IPC_SERIALIZATION_ENV, type IpcAdapter, type IpcAdapterOptions, type IpcRelay, ipcAdapter, ipcRelay } from './ipc.js';

const MARK_ENV = 'WSBOLT_CLUSTER';
const INDEX_ENV = 'WSBOLT_WORKER_INDEX';
/** A worker that dies sooner than this after its setup counts as a failed start (for the respawn backoff). */
const STABLE_AFTER = 5_000;

export interface WorkerContext {
  /** The IPC adapter of this worker: pass it to serve({ adapter }). */
  adapter: IpcAdapter;
  /** The worker's slot, 0 … workers-1; a replacement takes the same index. */
  index: number;
  /** node:cluster's worker id (a replacement gets a new one). */
  id: number;
}

/** cluster()'s options: how many workers, what each one runs, and how a dead one is replaced. */
export interface ClusterOptions<R = unknown> {
  /** Number of worker processes. Default os.availableParallelism(). */
  workers?: number;
  /** Runs in every worker (and in every replacement). Its result is kept; at shutdown its close() is awaited if it has one. */
  setup(context: WorkerContext): R | Promise<R>;
  /** Replace a worker that exits without being asked to. Default true. */
  respawn?: boolean;
  /** Delay before replacing a worker that died within 5 s of starting: initial, doubling up to max (ms). Default 100 / 10,000. */
  respawnDelay?: {
    /** The first delay, in ms. Default 100. */
    initial?: number;
    /** The longest delay, in ms. Default 10,000. */
    max?: number;
  };
  /** Passed to cluster.setupPrimary (exec, args, execArgv, silent, ...); serialization is always 'advanced'. */
  settings?: ClusterSettings;
  /** Extra environment for the workers. */
  env?: Record<string, string>;
  /** Problems of the workers' IPC adapters (in the workers). */
  onError?: IpcAdapterOptions['onError'];
}

export interface WorkerInfo {
  index: number;
  id: number;
  pid: number;
}

export interface WorkerExit extends WorkerInfo {
  code: number | null;
  signal: string | null;
  /** Milliseconds until its replacement is forked, or null when it is not replaced. */
  respawnIn: number | null;
  /**
   * The exit was asked for: close() (a cluster shutdown, a worker killed for outlasting its timeout included) or the
   * worker disconnected itself. false: it died (crashed, was killed from outside, exited on its own), which is what a
   * log line such as "worker died, replaced" is for.
   */
  expected: boolean;
}

/** close()'s options on the primary of a cluster. */
export interface ClusterCloseOptions {
  /** Close code each worker's server sends to its connections. Default 1001. */
  code?: number;
  /** Close reason sent with it. Default ''. */
  reason?: string;
  /** Milliseconds a worker may take to close before it is killed. Default 10,000. */
  timeout?: number;
}

/**
 * The primary's handle. Events: 'ready' (WorkerInfo) each time a worker (or a
 * replacement) finishes its setup; 'exit' (WorkerExit) each time one exits.
 */
export interface ClusterPrimary extends EventEmitter {
  readonly isPrimary: true;
  /** The live workers that finished their setup. */
  workers(): WorkerInfo[];
  /** The relay (its topics() tells which topics have subscribers on how many workers). */
  readonly relay: IpcRelay;
  /** Asks every worker to close its server gracefully, waits for them to exit (killing any that outlast timeout). */
  close(options?: ClusterCloseOptions): Promise<void>;
}

export interface ClusterWorker<R = unknown> {
  readonly isPrimary: false;
  readonly index: number;
  readonly id: number;
  readonly adapter: IpcAdapter;
  /** What setup returned. */
  readonly value: R;
}

export type ClusterHandle<R = unknown> = ClusterPrimary | ClusterWorker<R>;

/** In the primary: forks and supervises the workers. In a worker: runs setup. See the module comment. */
export function cluster<R>(options: ClusterOptions<R>): Promise<ClusterHandle<R>> {
  return nodeCluster.isPrimary ? startPrimary(options) : startWorker(options);
}

export interface ServeClusterOptions<T = unknown> extends ServeOptions<T> {
  /** Number of worker processes. Default os.availableParallelism(). */
  workers?: number;
  /** More cluster options (respawn, settings, env, onError). */
  cluster?: Omit<ClusterOptions, 'setup' | 'workers'>;
}

/**
 * serve() in N workers sharing options.port, pub/sub relayed between them.
 * Each worker evaluates the script, so handlers are ordinary functions. With
 * options.adapter (say a redisAdapter()) each worker uses it instead of IPC.
 */
export function serveCluster<T = unknown>(options: ServeClusterOptions<T> = {}): Promise<ClusterHandle<Server<T>>> {
  try {
    // In the primary, before any worker is forked (each worker's serve() checks its part again).
    checkOptions('serveCluster()', options, SERVE_CLUSTER_SCHEMA);
  } catch (error) {
    return Promise.reject(error);
  }
  const { workers, cluster: more, ...serveOptions } = options;
  return cluster<Server<T>>({
    ...more,
    ...(workers === undefined ? {} : { workers }),
    setup: ({ adapter }) => {
      // Server.close() leaves its adapter open: at shutdown the worker closes the user's one too.
      const own = serveOptions.adapter;
      if (own) closeAtShutdown.push(() => own.close());
      return serve<T>({ ...serveOptions, adapter: own ?? adapter });
    },
  });
}

// ---- worker -------------------------------------------------------------------

let current: WorkerContext | null = null;
/** Closed after setup's result at a worker's shutdown. */
const closeAtShutdown: (() => unknown)[] = [];

/** In a worker started by cluster() or serveCluster(): its adapter, index and id (null elsewhere, and before setup starts). */
export function clusterWorker(): WorkerContext | null {
  return current;
}

interface ControlMessage {
  wsbolt: 'ready' | 'failed' | 'shutdown';
  message?: string;
  code?: number;
  reason?: string;
  timeout?: number;
}

function isControl(message: unknown): message is ControlMessage {
  const kind = (message as ControlMessage | null)?.wsbolt;
  return kind === 'ready' || kind === 'failed' || kind === 'shutdown';
}

function sendToPrimary(message: ControlMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    try {
      process.send(message, undefined, undefined, () => resolve());
    } catch {
      resolve();
    }
  });
}

async function startWorker<R>(options: ClusterOptions<R>): Promise<ClusterWorker<R>> {
  const index = Number(process.env[INDEX_ENV] ?? 0);
  const id = nodeCluster.worker?.id ?? 0;
  const adapter = ipcAdapter(options.onError ? { onError: options.onError } : {});
  current = { adapter, index, id };
  let value: R;
  try {
    value = await options.setup(current);
  } catch (error) {
    await sendToPrimary({ wsbolt: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exitCode = 1;
    throw error;
  }
  let closing = false;
  process.on('message', (message: unknown) => {
    if (!isControl(message) || message.wsbolt !== 'shutdown' || closing) return;
    closing = true;
    void shutdownWorker(value, adapter, message);
  });
  await sendToPrimary({ wsbolt: 'ready' });
  return { isPrimary: false, index, id, adapter, value };
}

async function shutdownWorker(value: unknown, adapter: IpcAdapter, message: ControlMessage): Promise<void> {
  const closable = value as { close?: (options?: unknown) => unknown } | null;
  try {
    if (closable && typeof closable.close === 'function') {
      await closable.close({
        code: message.code ?? 1001,
        reason: message.reason ?? 'server shutting down',
        timeout: Math.max(0, (message.timeout ?? 10_000) - 500),
      });
    }
  } catch {
    // exiting anyway
  }
  for (const close of [...closeAtShutdown, () => adapter.close()]) {
    try {
      await close();
    } catch {
      // idem
    }
  }
  process.exit(0);
}

// ---- primary ------------------------------------------------------------------

interface Slot {
  index: number;
  worker: Worker | null;
  /** When its current worker finished setup (0: not yet). */
  readyAt: number;
  /** Consecutive early deaths, for the backoff. */
  failures: number;
  timer: NodeJS.Timeout | null;
  /** The setup error the worker reported, if any. */
  failure: string | null;
}

class Primary extends EventEmitter implements ClusterPrimary {
  readonly isPrimary = true as const;
  readonly relay = ipcRelay();
  private readonly slots: Slot[] = [];
  private closing: Promise<void> | null = null;
  private starting: { pending: number; resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly options: ClusterOptions<unknown>) {
    super();
  }

  start(count: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.starting = { pending: count, resolve, reject };
      for (let index = 0; index < count; index++) {
        const slot: Slot = { index, worker: null, readyAt: 0, failures: 0, timer: null, failure: null };
        this.slots.push(slot);
        this.fork(slot);
      }
    });
  }

  workers(): WorkerInfo[] {
    return this.slots.filter((s) => s.worker && s.readyAt > 0).map((s) => this.info(s, s.worker!));
  }

  private info(slot: Slot, worker: Worker): WorkerInfo {
    return { index: slot.index, id: worker.id, pid: worker.process.pid ?? 0 };
  }

  private fork(slot: Slot): void {
    slot.timer = null;
    slot.readyAt = 0;
    slot.failure = null;
    const worker = nodeCluster.fork({
      ...this.options.env,
      [MARK_ENV]: '1',
      [INDEX_ENV]: String(slot.index),
      [IPC_SERIALIZATION_ENV]: 'advanced',
    });
    slot.worker = worker;
    this.relay.add(worker);
    worker.on('error', () => {
      // a failed send to a dying worker; its 'exit' follows
    });
    worker.on('message', (message: unknown) => {
      if (!isControl(message)) return;
      if (message.wsbolt === 'ready') {
        slot.readyAt = Date.now();
        this.emit('ready', this.info(slot, worker));
        if (this.starting && --this.starting.pending === 0) {
          this.starting.resolve();
          this.starting = null;
        }
      } else if (message.wsbolt === 'failed') {
        slot.failure = message.message ?? 'setup failed';
      }
    });
    worker.once('exit', (code, signal) => this.exited(slot, worker, code, signal));
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    const info = this.info(slot, worker);
    if (slot.worker === worker) slot.worker = null;
    const wasReady = slot.readyAt > 0;
    const replace = !this.closing && !this.starting && this.options.respawn !== false && !worker.exitedAfterDisconnect;
    let respawnIn: number | null = null;
    if (replace) {
      const early = !wasReady || Date.now() - slot.readyAt < STABLE_AFTER;
      slot.failures = early ? slot.failures + 1 : 0;
      const initial = this.options.respawnDelay?.initial ?? 100;
      const max = this.options.respawnDelay?.max ?? 10_000;
      respawnIn = slot.failures === 0 ? 0 : Math.min(max, initial * 2 ** Math.min(slot.failures - 1, 20));
      slot.timer = setTimeout(() => this.fork(slot), respawnIn);
    }
    const expected = this.closing !== null || worker.exitedAfterDisconnect === true;
    this.emit('exit', { ...info, code, signal, respawnIn, expected } satisfies WorkerExit);
    if (this.starting && !this.closing) {
      // A worker that cannot start: the whole start fails.
      const reason = slot.failure ?? `exited with ${signal ?? `code ${code}`}`;
      const reject = this.starting.reject;
      this.starting = null;
      void this.close({ timeout: 2000 }).then(() => reject(new Error(`cluster: worker ${slot.index} failed to start: ${reason}`)));
    }
  }

  close(options: ClusterCloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options: ClusterCloseOptions): Promise<void> {
    const timeout = options.timeout ?? 10_000;
    const gone: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      const worker = slot.worker;
      if (!worker || worker.isDead()) continue;
      gone.push(
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          const kill = setTimeout(() => worker.process.kill('SIGKILL'), timeout);
          worker.once('exit', () => clearTimeout(kill));
          const shutdown: ControlMessage = {
            wsbolt: 'shutdown',
            timeout,
            ...(options.code === undefined ? {} : { code: options.code }),
            ...(options.reason === undefined ? {} : { reason: options.reason }),
          };
          if (slot.readyAt > 0 && worker.isConnected()) {
            try {
              worker.send(shutdown, undefined, () => {});
            } catch {
              worker.process.kill('SIGTERM');
            }
          } else {
            worker.process.kill('SIGTERM');
          }
        }),
      );
    }
    await Promise.all(gone);
  }
}

async function startPrimary<R>(options: ClusterOptions<R>): Promise<ClusterPrimary> {
  const count = Math.max(1, Math.floor(options.workers ?? os.availableParallelism?.() ?? os.cpus().length));
  nodeCluster.setupPrimary({ ...options.settings, serialization: 'advanced' });
  const primary = new Primary(options as ClusterOptions<unknown>);
  await primary.start(count);
  return primary;
}
