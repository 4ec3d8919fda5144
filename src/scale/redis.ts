/**
 * Pub/sub across machines through Redis (ioredis, loaded on first use: only
 * users of this adapter need it installed).
 *
 * Two connections: one publishes, one subscribes. A topic maps to the channel
 * `${channelPrefix}${topic}`, and this process SUBSCRIBEs to it only while it
 * has a local subscriber (the server tells the adapter when a topic gains its
 * first or loses its last one), so Redis sends a process only the topics it
 * needs; a pattern subscription (PSUBSCRIBE prefix*) would send every process
 * every message of every topic.
 *
 * Each Redis message is an 11-byte header and the payload, unchanged:
 *   [0] 0xB7 (format mark)  [1] 1 (version)  [2] flags (bit 0: binary)
 *   [3..10] origin: 8 random bytes naming the adapter that published it
 * A process ignores messages carrying its own origin (it delivered them
 * locally already). Order: one connection publishes, Redis runs a
 * connection's commands in order and pushes messages to each subscriber in
 * order, so the publishes of one process arrive everywhere in publish order.
 *
 * Losing Redis never reaches the server as an exception: both connections
 * have 'error' listeners, errors go to onError, status changes to onStatus,
 * ioredis reconnects with exponential backoff (retry.initialDelay doubling up
 * to retry.maxDelay, with jitter) forever, and the adapter resubscribes its
 * topics on every new subscriber connection. Local delivery
 * does not depend on Redis. Publishes made while the publishing connection is
 * down are kept, in order, up to maxBuffered messages / maxBufferedBytes, and
 * sent when it is back; beyond that bound further publishes are dropped,
 * counted in stats.dropped and reported once per outage. Redis pub/sub keeps
 * nothing: a process whose subscriber connection is still down when they are
 * sent misses them.
 */
import { randomBytes } from 'node:crypto';
import { WsboltError } from '../core/errors.js';
import type { PubSubAdapter } from '../node/pubsub.js';
import { checkOptions } from '../node/options/check.js';
import { reporter } from './ipc.js';
import { REDIS_ADAPTER_SCHEMA } from './options-schema.js';

const MARK = 0xb7;
const VERSION = 1;
const HEADER = 11;
const FLAG_BINARY = 1;

export type RedisAdapterStatus =
  /** not connected yet (both connections being established) */
  | 'connecting'
  /** both connections up */
  | 'ready'
  /** at least one connection lost; reconnecting */
  | 'down'
  /** close() was called */
  | 'closed';

/** redisAdapter()'s options: where Redis is, the channel names, reconnection and the outage buffer. */
export interface RedisAdapterOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS). Default: ioredis's default, 127.0.0.1:6379. */
  url?: string;
  /** ioredis options (host, port, password, tls, db, sentinels, ...), combined with url. */
  redis?: Record<string, unknown>;
  /** Prepended to a topic to name its Redis channel. Default 'wsbolt:'. */
  channelPrefix?: string;
  /** Reconnection backoff: first delay, doubling up to maxDelay (ms), with jitter. Default 100 / 5,000. */
  retry?: {
    /** The first delay, in ms. Default 100. */
    initialDelay?: number;
    /** The longest delay, in ms. Default 5,000. */
    maxDelay?: number;
  };
  /** Publishes kept while the publishing connection is down; beyond, they are dropped and reported. Default 10,000 (0: drop at once). */
  maxBuffered?: number;
  /** The same bound in bytes (headers included). Default 16 MiB. */
  maxBufferedBytes?: number;
  /** Connection errors, failed commands, dropped publishes. Never thrown. Default: console.warn, each distinct message once. */
  onError?: (error: Error) => void;
  /** Status changes: 'connecting' → 'ready' ⇄ 'down', then 'closed'. */
  onStatus?: (status: RedisAdapterStatus) => void;
}

export interface RedisAdapterStats {
  /** Local publishes handed to the adapter. */
  published: number;
  /** Messages from other processes delivered here. */
  delivered: number;
  /** Publishes waiting for the connection to come back. */
  buffered: number;
  /** Publishes dropped: buffer full, closed, or failed in Redis. */
  dropped: number;
  /** Errors reported. */
  errors: number;
}

export interface RedisAdapter extends PubSubAdapter {
  /** This adapter's origin id (hex), carried by its messages. */
  readonly id: string;
  readonly status: RedisAdapterStatus;
  readonly stats: Readonly<RedisAdapterStats>;
  /** Resolves when both connections are up (waiting through outages); rejects if the adapter is closed first or cannot work (ioredis missing). */
  ready(): Promise<void>;
  /**
   * Resolves once Redis has handled every publish and every SUBSCRIBE /
   * UNSUBSCRIBE this adapter sent before the call (waiting for Redis if it is
   * down): from then on, a publish elsewhere to a topic subscribed here
   * reaches this process.
   */
  flush(): Promise<void>;
}

/** The ioredis surface this adapter uses (its types are not needed to compile against wsbolt). */
interface RedisClient {
  status: string;
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  ping(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

type RedisConstructor = new (...args: unknown[]) => RedisClient;

export function redisAdapter(options: RedisAdapterOptions = {}): RedisAdapter {
  checkOptions('redisAdapter()', options, REDIS_ADAPTER_SCHEMA);
  return new RedisPubSubAdapter(options);
}

class RedisPubSubAdapter implements RedisAdapter {
  readonly stats: RedisAdapterStats = { published: 0, delivered: 0, buffered: 0, dropped: 0, errors: 0 };
  status: RedisAdapterStatus = 'connecting';
  private readonly origin = randomBytes(8);
  readonly id = this.origin.toString('hex');
  private readonly prefix: string;
  private readonly maxBuffered: number;
  private readonly maxBufferedBytes: number;
  private readonly reportError: (error: unknown) => void;
  private deliver: ((topic: string, data: Buffer, binary: boolean) => void) | null = null;
  private pub: RedisClient | null = null;
  private sub: RedisClient | null = null;
  private pubUp = false;
  private subUp = false;
  private closed = false;
  /** Topics with local subscribers (subscribed once the subscriber connection exists). */
  private readonly topics = new Set<string>();
  private buffer: [string, Buffer][] = [];
  private bufferedBytes = 0;
  private droppingReported = false;
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Why the adapter can never connect (ioredis missing, bad options), if so. */
  private fatal: Error | null = null;

  constructor(private readonly options: RedisAdapterOptions) {
    this.prefix = options.channelPrefix ?? 'wsbolt:';
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    const report = reporter('wsbolt redisAdapter', options.onError);
    this.reportError = (error) => {
      this.stats.errors++;
      report(error);
    };
  }

  /**
   * Rejects only when the adapter can never work (ioredis missing, options ioredis refuses), so that serve() fails
   * at once instead of listening and reporting Redis errors forever; Redis being down is waited out instead.
   */
  start(deliver: (topic: string, data: Buffer, binary: boolean) => void): Promise<void> {
    if (this.deliver) throw new Error('redisAdapter: already started (use one adapter per server)');
    this.deliver = deliver;
    return this.connect();
  }

  private async connect(): Promise<void> {
    let Redis: RedisConstructor;
    try {
      const mod = (await import('ioredis')) as unknown as { Redis?: RedisConstructor; default?: RedisConstructor };
      Redis = (mod.Redis ?? mod.default) as RedisConstructor;
      if (typeof Redis !== 'function') throw new Error('no Redis class exported');
    } catch (error) {
      const reason = (error as Error)?.message ?? String(error);
      throw this.fail(
        new WsboltError(
          'ERR_IOREDIS_MISSING',
          `redisAdapter() needs the ioredis package, which could not be loaded: npm install ioredis (${reason})`,
          undefined,
          {
            cause: error,
          },
        ),
      );
    }
    if (this.closed) return;
    const initial = this.options.retry?.initialDelay ?? 100;
    const max = this.options.retry?.maxDelay ?? 5_000;
    const settings = {
      retryStrategy: (attempt: number) => {
        const delay = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
        return Math.round(delay / 2 + (Math.random() * delay) / 2);
      },
      ...this.options.redis,
      // What the adapter relies on.
      lazyConnect: false,
      enableOfflineQueue: true, // commands in the tick a connection drops wait for it (in order) ...
      maxRetriesPerRequest: null, // ... however long it takes
      // The adapter subscribes itself, once the subscriber connection is ready:
      // ioredis writes SUBSCRIBE during its connection handshake (the command
      // may run while Redis loads), its ready check (INFO) then fails in
      // subscriber mode, and the subscription is lost with the reconnection.
      autoResubscribe: false,
    };
    try {
      const make = (name: string, extra: Record<string, unknown>) => {
        const s = { connectionName: name, ...settings, ...extra };
        return this.options.url ? new Redis(this.options.url, s) : new Redis(s);
      };
      // Publishes written just before a connection dropped are sent again
      // after it is back (ahead of the buffered ones: order holds) ...
      this.pub = make('wsbolt-pub', { autoResendUnfulfilledCommands: true });
      // ... but not (UN)SUBSCRIBEs: the adapter subscribes the current set itself.
      this.sub = make('wsbolt-sub', { autoResendUnfulfilledCommands: false });
    } catch (error) {
      this.pub?.disconnect();
      this.pub = null;
      const message = `redisAdapter(): ioredis refused the options: ${(error as Error)?.message ?? error}`;
      throw this.fail(new WsboltError('ERR_REDIS_OPTIONS', message, undefined, { cause: error }));
    }
    this.watch(this.pub, 'publisher');
    this.watch(this.sub, 'subscriber');
    this.sub.on('messageBuffer', this.onMessage);
  }

  private watch(client: RedisClient, role: 'publisher' | 'subscriber'): void {
    client.on('error', (error: Error) => this.reportError(new Error(`${role} connection: ${error?.message ?? error}`, { cause: error })));
    client.on('ready', () => {
      if (this.closed) return;
      if (role === 'publisher') {
        this.drain();
        this.pubUp = true;
      } else {
        this.resubscribe();
        this.subUp = true;
      }
      this.update();
    });
    const lost = () => {
      if (role === 'publisher') this.pubUp = false;
      else this.subUp = false;
      this.update();
    };
    client.on('close', lost);
    client.on('reconnecting', lost);
    client.on('end', () => {
      lost();
      if (!this.closed) this.reportError(new Error(`${role} connection: ioredis stopped reconnecting (retryStrategy gave up)`));
    });
  }

  /** The adapter cannot work: ready() and flush() reject, and start() with it (returned, to be thrown there). */
  private fail(error: Error): Error {
    this.fatal = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
    return error;
  }

  private update(): void {
    const next: RedisAdapterStatus = this.closed ? 'closed' : this.pubUp && this.subUp ? 'ready' : this.status === 'connecting' ? 'connecting' : 'down';
    if (next === this.status) return;
    this.status = next;
    if (next === 'ready') {
      this.droppingReported = false;
      for (const w of this.waiters.splice(0)) w.resolve();
    } else if (next === 'closed') {
      for (const w of this.waiters.splice(0)) w.reject(new Error('redisAdapter: closed'));
    }
    try {
      this.options.onStatus?.(next);
    } catch {
      // a throwing callback must not take the server down
    }
  }

  publish(topic: string, data: Buffer, binary: boolean): void {
    if (this.closed || !this.deliver) {
      this.stats.dropped++;
      return;
    }
    this.stats.published++;
    const message = Buffer.allocUnsafe(HEADER + data.length);
    message[0] = MARK;
    message[1] = VERSION;
    message[2] = binary ? FLAG_BINARY : 0;
    this.origin.copy(message, 3);
    data.copy(message, HEADER);
    const channel = this.prefix + topic;
    // pubUp turns true only after the buffer is drained (order); ioredis's own
    // status turns false the moment it sees the connection close.
    if (this.pubUp && this.pub!.status === 'ready') this.send(channel, message);
    else this.keep(channel, message);
  }

  private send(channel: string, message: Buffer): void {
    this.pub!.publish(channel, message).catch(this.onPublishFailed);
  }

  private readonly onPublishFailed = (error: Error): void => {
    this.stats.dropped++;
    this.reportError(new Error(`publish failed: ${error?.message ?? error}`, { cause: error }));
  };

  /** Buffers a publish while the publishing connection is down, within the bounds. */
  private keep(channel: string, message: Buffer): void {
    if (this.buffer.length >= this.maxBuffered || this.bufferedBytes + message.length > this.maxBufferedBytes) {
      this.stats.dropped++;
      if (!this.droppingReported) {
        this.droppingReported = true;
        this.reportError(
          new Error(
            `Redis is unreachable and ${this.buffer.length} publishes (${this.bufferedBytes} bytes) are waiting: dropping further publishes until it is back`,
          ),
        );
      }
      return;
    }
    this.buffer.push([channel, message]);
    this.bufferedBytes += message.length;
    this.stats.buffered = this.buffer.length;
  }

  /** Sends what was buffered, in order, before anything published after. */
  private drain(): void {
    const waiting = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    this.stats.buffered = 0;
    for (const [channel, message] of waiting) this.send(channel, message);
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (this.closed || !this.deliver) return;
    if (message.length < HEADER || message[0] !== MARK || message[1] !== VERSION) {
      this.reportError(new Error(`ignored a message on ${channel} that is not in wsbolt's format`));
      return;
    }
    if (message.compare(this.origin, 0, 8, 3, HEADER) === 0) return; // ours: delivered locally already
    const name = channel.toString();
    if (!name.startsWith(this.prefix)) return;
    this.stats.delivered++;
    try {
      this.deliver(name.slice(this.prefix.length), message.subarray(HEADER), (message[2]! & FLAG_BINARY) !== 0);
    } catch (error) {
      this.reportError(error);
    }
  };

  /** The subscriber connection is up and the adapter has subscribed it (else topics only updates the set). */
  private get subscribing(): boolean {
    return this.subUp && this.sub!.status === 'ready';
  }

  subscribe(topic: string): void {
    if (this.closed || this.topics.has(topic)) return;
    this.topics.add(topic);
    if (this.subscribing) this.track(this.sub!.subscribe(this.prefix + topic), 'subscribe');
  }

  unsubscribe(topic: string): void {
    if (this.closed || !this.topics.delete(topic)) return;
    if (this.subscribing) this.track(this.sub!.unsubscribe(this.prefix + topic), 'unsubscribe');
  }

  /** A fresh subscriber connection has no subscriptions: subscribe every topic with local subscribers. */
  private resubscribe(): void {
    const channels = [...this.topics].map((topic) => this.prefix + topic);
    for (let i = 0; i < channels.length; i += 1000) {
      const chunk = channels.slice(i, i + 1000);
      this.track(this.sub!.subscribe(...chunk), 'subscribe');
    }
  }

  private track(command: Promise<unknown>, what: string): void {
    command.catch((error: Error) => this.reportError(new Error(`${what} failed: ${error?.message ?? error}`, { cause: error })));
  }

  ready(): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('redisAdapter: closed'));
    if (this.fatal) return Promise.reject(this.fatal);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async flush(): Promise<void> {
    await this.ready();
    // Each connection answers in order: a PING's reply comes after every earlier command's.
    // ready() means the subscriber connection has been sent every SUBSCRIBE.
    await Promise.all([this.pub!.ping().catch(() => {}), this.sub!.ping().catch(() => {})]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const dropped = this.buffer.length;
    this.stats.dropped += dropped;
    this.buffer = [];
    this.bufferedBytes = 0;
    this.stats.buffered = 0;
    this.pubUp = this.subUp = false;
    this.update();
    await Promise.all([this.pub, this.sub].map((client) => (client ? quit(client) : undefined)));
  }
}

/** QUIT when connected (lets in-flight publishes finish), else just drop the connection. */
async function quit(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([client.quit(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('quit timed out')), 2000)))]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
