/**
 * A client that comes back: after a lost connection it reconnects with
 * exponential backoff and jitter, like WebSockex's handle_disconnect →
 * reconnect. open() runs again on every success, but only a connection that
 * stayed open for stableAfter starts the backoff over: a server that accepts
 * and closes at once sees the delays grow. Sends while disconnected
 * throw (never silently dropped) unless a bounded queue was asked for; an
 * explicit close() or a close code marked final ends it for good.
 */
import { WsboltError } from '../core/errors.js';
import { type ConnectOptions, openConnection } from './client.js';
import { callGuarded } from './handler-errors.js';
import type { WebSocket } from './connection.js';
import type { SendData, SendOptions } from './connection-options.js';
import { checkOptions } from './options/check.js';
import { RECONNECTING_SCHEMA } from './options/client.js';
import { type CloseCause, ReadyState, SendStatus } from './types.js';

export interface ReconnectOptions {
  /** First delay in ms. Default 250. */
  initialDelay?: number;
  /** Ceiling for the delay in ms. Default 30,000. */
  maxDelay?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay that is randomised (0..1): delay × (1 − jitter × random). Default 0.5. */
  jitter?: number;
  /** Attempts in a row before giving up (the count resets once a connection stays open for stableAfter). Default Infinity. */
  maxAttempts?: number;
  /**
   * Milliseconds a connection must stay open before its loss starts the
   * backoff over (attempt 1, initialDelay); a shorter-lived one counts as a
   * failed attempt. Default 5,000, reconnecting-websocket's minUptime.
   */
  stableAfter?: number;
  /** Close codes after which the client does not come back (for example 1008 or 4001 "banned"). Default none. */
  finalCodes?: number[];
  /** Queue up to this many messages while disconnected and send them on reconnect; above it send() throws. Default 0 (send() throws). */
  queueWhileDisconnected?: number;
}

export interface ReconnectingOptions<T> extends ConnectOptions<T> {
  /** The reconnect policy; absent or true: the defaults. */
  reconnect?: ReconnectOptions | true;
  /** Called before each wait: attempt 1, 2, ...; delay in ms; why the last connection ended or the last attempt failed. */
  reconnecting?(attempt: number, delay: number, cause: CloseCause | Error): void;
  /** The client gave up (maxAttempts reached or a final close code). */
  giveUp?(cause: CloseCause | Error): void;
}

export class ReconnectingClient<T = unknown> {
  /** The live connection, or null between connections. */
  current: WebSocket<T> | null = null;
  private closed = false;
  private attempts = 0;
  /** When the current connection opened (performance.now()). */
  private openedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: { data: SendData; options: SendOptions | undefined }[] = [];
  private readonly policy: Required<ReconnectOptions>;

  constructor(
    readonly url: string | URL,
    private readonly options: ReconnectingOptions<T> = {},
  ) {
    checkOptions('reconnecting()', options, RECONNECTING_SCHEMA);
    const r = options.reconnect === true || options.reconnect === undefined ? {} : options.reconnect;
    this.policy = {
      initialDelay: r.initialDelay ?? 250,
      maxDelay: r.maxDelay ?? 30_000,
      factor: r.factor ?? 2,
      jitter: Math.min(1, Math.max(0, r.jitter ?? 0.5)),
      maxAttempts: r.maxAttempts ?? Infinity,
      stableAfter: r.stableAfter ?? 5_000,
      finalCodes: r.finalCodes ?? [],
      queueWhileDisconnected: r.queueWhileDisconnected ?? 0,
    };
  }

  get readyState(): ReadyState {
    if (this.closed) return this.current ? this.current.readyState : ReadyState.CLOSED;
    return this.current?.readyState ?? ReadyState.CONNECTING;
  }

  /** Sends on the live connection; while disconnected queues (if allowed) or throws ERR_NOT_CONNECTED. */
  send(data: SendData, options?: SendOptions): SendStatus {
    if (this.current && this.current.readyState === ReadyState.OPEN) return this.current.send(data, options);
    if (this.closed) throw new WsboltError('ERR_NOT_CONNECTED', 'the client was closed');
    if (this.queue.length < this.policy.queueWhileDisconnected) {
      this.queue.push({ data, options });
      return SendStatus.BACKPRESSURE;
    }
    throw new WsboltError('ERR_NOT_CONNECTED', 'not connected (reconnecting); the message was not sent');
  }

  /** Closes for good: no reconnect afterwards. */
  close(code?: number, reason?: string): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.current?.close(code, reason);
  }

  /** Connects, retrying per the policy; resolves on the first open. */
  start(): Promise<this> {
    return new Promise((resolve, fail) => {
      this.onFirstOpen = () => resolve(this);
      this.onGiveUp = (cause) => fail(cause instanceof Error ? cause : new WsboltError('ERR_CONNECTION_CLOSED', `closed with ${cause.kind}`));
      this.attempt();
    });
  }

  private onFirstOpen: (() => void) | null = null;
  private onGiveUp: ((cause: CloseCause | Error) => void) | null = null;

  private attempt(): void {
    if (this.closed) return;
    const user = this.options;
    openConnection<T>(this.url, {
      ...user,
      open: (ws) => {
        if (this.closed) {
          // close() was called while this attempt was under way.
          ws.close(1000);
          return;
        }
        this.current = ws;
        this.openedAt = performance.now();
        for (const item of this.queue.splice(0)) ws.send(item.data, item.options);
        // Returned, so the engine sees what it throws or rejects with (1011, error callback); start() settles either way.
        try {
          return user.open?.(ws);
        } finally {
          const first = this.onFirstOpen;
          this.onFirstOpen = null;
          first?.();
        }
      },
      close: (ws, code, reason, cause) => {
        if (this.current !== ws && this.closed) return; // an attempt closed before it was ever handed out
        if (this.current === ws) {
          this.current = null;
          // Decided at the close (no timer per connection): only a connection that lasted starts the backoff over.
          if (performance.now() - this.openedAt >= this.policy.stableAfter) this.attempts = 0;
        }
        // A user close() that fails is reported by the engine; coming back must not depend on it.
        try {
          return user.close?.(ws, code, reason, cause);
        } finally {
          if (!this.closed) {
            if (this.policy.finalCodes.includes(code)) this.stop(cause);
            else this.retry(cause);
          }
        }
      },
    }).catch((error: Error) => this.retry(error));
  }

  private retry(cause: CloseCause | Error): void {
    if (this.closed) return;
    this.attempts++;
    if (this.attempts > this.policy.maxAttempts) return this.stop(cause);
    const { initialDelay, maxDelay, factor, jitter } = this.policy;
    const base = Math.min(maxDelay, initialDelay * factor ** (this.attempts - 1));
    const delay = Math.round(base * (1 - jitter * Math.random()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.attempt();
    }, delay);
    callGuarded(this.options, 'reconnecting', this.options.reconnecting, this.attempts, delay, cause);
  }

  private stop(cause: CloseCause | Error): void {
    this.closed = true;
    this.queue.length = 0;
    callGuarded(this.options, 'giveUp', this.options.giveUp, cause);
    this.onGiveUp?.(cause);
    this.onGiveUp = null;
  }
}

/** Connects and keeps reconnecting per options.reconnect; resolves once the first connection is open. */
export function reconnecting<T = unknown>(url: string | URL, options: ReconnectingOptions<T> = {}): Promise<ReconnectingClient<T>> {
  let client: ReconnectingClient<T>;
  try {
    client = new ReconnectingClient<T>(url, options);
  } catch (error) {
    return Promise.reject(error);
  }
  return client.start();
}
