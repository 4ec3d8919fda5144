/**
 * Pub/sub between the workers of one node:cluster, over the IPC channel the
 * cluster already opens. Each worker's adapter sends its publishes (and which
 * topics it has subscribers for) to the primary; the primary relays every
 * publish, in the order it arrived, to the other workers that have a
 * subscriber to its topic. Publishes within one tick travel as one IPC
 * message, so a burst costs one serialization, not one per message.
 *
 * Order: a worker's channel to the primary is a pipe (ordered), the primary
 * handles messages one at a time and each of its channels to a worker is a
 * pipe too, so the publishes of one worker reach every other worker in
 * publish order.
 *
 * Payloads: with the cluster() helper the channel uses
 * `serialization: 'advanced'` and Buffers pass intact; on a channel set up by
 * someone else (JSON serialization) the adapter sends base64 instead. Either
 * side decodes both.
 */
import type { Worker } from 'node:cluster';
import { asError } from '../core/errors.js';
import type { PubSubAdapter } from '../node/pubsub.js';

/** One entry of a batch on the channel. */
export type IpcEntry =
  /** publish: topic, payload (Buffer, or base64 on a JSON channel), 1 when binary */
  | ['p', string, Buffer | Uint8Array | string, 0 | 1]
  /** this worker now has subscribers to topic */
  | ['s', string]
  /** ... and now has none */
  | ['u', string]
  /** a flush() barrier: the primary sends it back once it has handled everything before it */
  | ['y', number];

/** What travels on the channel: `{ wsbolt: 'ipc', b: [entries] }` (and the cluster helper's own messages). */
export interface IpcBatch {
  wsbolt: 'ipc';
  b: IpcEntry[];
}

/** Set by the cluster helper in each worker's environment when the channel passes Buffers intact. */
export const IPC_SERIALIZATION_ENV = 'WSBOLT_IPC';

/** ipcAdapter()'s options. */
export interface IpcAdapterOptions {
  /**
   * Problems (no IPC channel, a failed send, the primary gone). Never thrown.
   * Default: console.warn, each distinct message once.
   */
  onError?: (error: Error) => void;
}

export interface IpcAdapterStats {
  /** Local publishes handed to the primary. */
  published: number;
  /** Publishes from other workers delivered here. */
  delivered: number;
  /** Local publishes that could not be sent (no channel, channel closed). */
  dropped: number;
}

export interface IpcAdapter extends PubSubAdapter {
  /**
   * Resolves once the primary has handled every publish and every topic
   * subscription this worker sent before the call: a publish from another
   * worker that reaches the primary afterwards is relayed here. Resolves at
   * once when there is no channel.
   */
  flush(): Promise<void>;
  readonly stats: Readonly<IpcAdapterStats>;
}

/** The adapter for a cluster worker: `serve({ adapter: ipcAdapter() })` in each worker. */
export function ipcAdapter(options: IpcAdapterOptions = {}): IpcAdapter {
  return new IpcWorkerAdapter(options);
}

export function isIpcBatch(message: unknown): message is IpcBatch {
  return typeof message === 'object' && message !== null && (message as IpcBatch).wsbolt === 'ipc' && Array.isArray((message as IpcBatch).b);
}

/** A payload as received: Buffer (advanced serialization), base64 (JSON), or a Buffer's JSON form. */
export function payloadBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const json = value as { type?: unknown; data?: unknown } | null;
  if (json && json.type === 'Buffer' && Array.isArray(json.data)) return Buffer.from(json.data as number[]);
  return Buffer.alloc(0);
}

/** A reporter that passes errors to onError, or warns once per distinct message. */
export function reporter(prefix: string, onError: ((error: Error) => void) | undefined): (error: unknown) => void {
  const seen = new Set<string>();
  return (error: unknown) => {
    const e = asError(error);
    if (onError) {
      try {
        onError(e);
      } catch {
        // a throwing error callback must not take the server down
      }
      return;
    }
    if (seen.has(e.message)) return;
    if (seen.size > 100) seen.clear();
    seen.add(e.message);
    console.warn(`${prefix}: ${e.message}`);
  };
}

class IpcWorkerAdapter implements IpcAdapter {
  readonly stats: IpcAdapterStats = { published: 0, delivered: 0, dropped: 0 };
  private deliver: ((topic: string, data: Buffer, binary: boolean) => void) | null = null;
  private connected = false;
  private closed = false;
  private outbox: IpcEntry[] = [];
  private scheduled = false;
  private nextBarrier = 0;
  private readonly barriers = new Map<number, () => void>();
  /** Buffers pass intact on this channel (else base64). */
  private readonly buffers = process.env[IPC_SERIALIZATION_ENV] === 'advanced';
  private readonly report: (error: unknown) => void;

  constructor(options: IpcAdapterOptions) {
    this.report = reporter('wsbolt ipcAdapter', options.onError);
  }

  start(deliver: (topic: string, data: Buffer, binary: boolean) => void): void {
    if (this.deliver) throw new Error('ipcAdapter: already started (use one adapter per server)');
    this.deliver = deliver;
    if (typeof process.send !== 'function' || !process.connected) {
      this.report(new Error('this process has no IPC channel (it is not a cluster worker): publishes stay in this process'));
      return;
    }
    this.connected = true;
    process.on('message', this.onMessage);
    process.once('disconnect', this.onDisconnect);
  }

  publish(topic: string, data: Buffer, binary: boolean): void {
    if (!this.connected) {
      this.stats.dropped++;
      return;
    }
    this.stats.published++;
    this.queue(['p', topic, this.buffers ? data : data.toString('base64'), binary ? 1 : 0]);
  }

  subscribe(topic: string): void {
    if (this.connected) this.queue(['s', topic]);
  }

  unsubscribe(topic: string): void {
    if (this.connected) this.queue(['u', topic]);
  }

  flush(): Promise<void> {
    if (!this.connected) return Promise.resolve();
    const id = ++this.nextBarrier;
    return new Promise<void>((resolve) => {
      this.barriers.set(id, resolve);
      this.queue(['y', id]);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.send(); // what this tick published still leaves
    this.disconnect();
  }

  private queue(entry: IpcEntry): void {
    this.outbox.push(entry);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.send);
    }
  }

  /** Sends the batch gathered during this tick as one message. */
  private readonly send = (): void => {
    this.scheduled = false;
    if (this.outbox.length === 0) return;
    const batch: IpcBatch = { wsbolt: 'ipc', b: this.outbox };
    this.outbox = [];
    if (!this.connected || !process.connected || !process.send) {
      this.lost(batch.b);
      return;
    }
    try {
      process.send(batch, undefined, undefined, (error: Error | null) => {
        if (error) {
          this.report(error);
          this.lost(batch.b);
        }
      });
    } catch (error) {
      this.report(error);
      this.lost(batch.b);
    }
  };

  private lost(entries: IpcEntry[]): void {
    for (const entry of entries) {
      if (entry[0] === 'p') this.stats.dropped++;
      else if (entry[0] === 'y') this.release(entry[1]);
    }
  }

  private release(id: number): void {
    const done = this.barriers.get(id);
    if (done) {
      this.barriers.delete(id);
      done();
    }
  }

  private readonly onMessage = (message: unknown): void => {
    if (!isIpcBatch(message) || this.closed) return;
    for (const entry of message.b) {
      if (entry[0] === 'p') {
        this.stats.delivered++;
        try {
          this.deliver!(entry[1], payloadBuffer(entry[2]), entry[3] === 1);
        } catch (error) {
          this.report(error);
        }
      } else if (entry[0] === 'y') {
        this.release(entry[1]);
      }
    }
  };

  private readonly onDisconnect = (): void => {
    if (!this.closed) this.report(new Error('the IPC channel to the primary closed: publishes stay in this process'));
    this.disconnect();
  };

  private disconnect(): void {
    if (this.connected) {
      this.connected = false;
      process.removeListener('message', this.onMessage);
      process.removeListener('disconnect', this.onDisconnect);
    }
    for (const id of [...this.barriers.keys()]) this.release(id);
  }
}

/**
 * The primary's side: relays publishes between the workers added to it.
 * cluster() uses one; a primary that forks workers itself can too:
 *
 *   cluster.setupPrimary({ serialization: 'advanced' });
 *   const relay = ipcRelay();
 *   cluster.on('fork', (worker) => relay.add(worker));
 *   cluster.fork({ WSBOLT_IPC: 'advanced' });
 */
export interface IpcRelay {
  /** Relays this worker's publishes and sends it the ones for its topics (until it exits). */
  add(worker: Worker): void;
  /** Forgets the worker (done on its 'exit'). */
  remove(worker: Worker): void;
  /** Topics with subscribers, and on how many workers (for tests and monitoring). */
  topics(): Map<string, number>;
}

export function ipcRelay(): IpcRelay {
  /** topic -> workers with subscribers */
  const interest = new Map<string, Set<Worker>>();
  /** worker -> its topics, and its message listener */
  const members = new Map<Worker, { topics: Set<string>; listener: (message: unknown) => void; exit: () => void }>();

  const send = (worker: Worker, entries: IpcEntry[]): void => {
    if (!worker.isConnected()) return;
    try {
      worker.send({ wsbolt: 'ipc', b: entries } satisfies IpcBatch, undefined, () => {
        // a worker that is going away: nothing to do, its exit cleans up
      });
    } catch {
      // idem
    }
  };

  const receive = (from: Worker, message: unknown): void => {
    if (!isIpcBatch(message)) return;
    const member = members.get(from);
    if (!member) return;
    const out = new Map<Worker, IpcEntry[]>();
    const push = (worker: Worker, entry: IpcEntry) => {
      let list = out.get(worker);
      if (!list) out.set(worker, (list = []));
      list.push(entry);
    };
    for (const entry of message.b) {
      switch (entry[0]) {
        case 'p': {
          const workers = interest.get(entry[1]);
          if (workers) for (const worker of workers) if (worker !== from) push(worker, entry);
          break;
        }
        case 's': {
          let workers = interest.get(entry[1]);
          if (!workers) interest.set(entry[1], (workers = new Set()));
          workers.add(from);
          member.topics.add(entry[1]);
          break;
        }
        case 'u':
          drop(from, entry[1]);
          member.topics.delete(entry[1]);
          break;
        case 'y':
          push(from, entry);
          break;
      }
    }
    for (const [worker, entries] of out) send(worker, entries);
  };

  const drop = (worker: Worker, topic: string): void => {
    const workers = interest.get(topic);
    if (workers?.delete(worker) && workers.size === 0) interest.delete(topic);
  };

  const relay: IpcRelay = {
    add(worker) {
      if (members.has(worker)) return;
      const listener = (message: unknown) => receive(worker, message);
      const exit = () => relay.remove(worker);
      members.set(worker, { topics: new Set(), listener, exit });
      worker.on('message', listener);
      worker.once('exit', exit);
    },
    remove(worker) {
      const member = members.get(worker);
      if (!member) return;
      members.delete(worker);
      worker.removeListener('message', member.listener);
      worker.removeListener('exit', member.exit);
      for (const topic of member.topics) drop(worker, topic);
    },
    topics() {
      return new Map([...interest].map(([topic, workers]) => [topic, workers.size]));
    },
  };
  return relay;
}
