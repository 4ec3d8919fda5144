/**
 * A client that comes back: after a lost connection it reconnects with
 * exponential backoff and jitter, like WebSockex's handle_disconnect →
 * reconnect. open() runs again on every success, but only a connection that
 * stayed open for stableAfter starts the backoff over: a server that accepts
 * and closes at once sees the delays grow. Messages queued while disconnected
 * wait for open() (and the promise it returns), so an app can authenticate
 * before them. An explicit close(), the signal, a close code marked final or
 * a refusal not worth retrying (shouldRetry) ends it for good.
 */
import { WsboltError, asError } from '../core/errors.js';
import { type ConnectOptions, openConnection, parseTarget } from './client.js';
import { callGuarded } from './handler-errors.js';
import type { WebSocket } from './connection.js';
import type { SendData, SendOptions } from './connection-options.js';
import {
  type AttemptOverrides,
  type ReconnectOptions,
  type ReconnectPolicy,
  ReconnectError,
  backoffDelay,
  displayUrl,
  resolvePolicy,
} from './reconnect-policy.js';
import { checkOptions } from './options/check.js';
import { RECONNECTING_SCHEMA } from './options/client.js';
import { type CloseCause, ReadyState, SendStatus } from './types.js';

export { type AttemptOverrides, type ReconnectOptions, ReconnectError, defaultShouldRetry } from './reconnect-policy.js';

/** reconnecting()'s options: connect()'s, the backoff, and two callbacks of its own. */
export interface ReconnectingOptions<T> extends ConnectOptions<T> {
  /** The retry policy (delays in ms, limits, the queue, shouldRetry, beforeAttempt); absent or true: the defaults. */
  reconnect?: ReconnectOptions | true;
  /**
   * Runs on every new connection. Sends made through `ws` here go out first; what client.send() queued follows once
   * open() has returned, or once the promise it returns has resolved (if it rejects, the connection closes with 1011
   * and the queue waits for the next one). Until then the client's readyState stays CONNECTING.
   */
  open?(ws: WebSocket<T>): void | Promise<void>;
  /** Called before each wait: attempt 1, 2, ...; delay in ms; why the last connection ended or the last attempt failed. */
  reconnecting?(attempt: number, delay: number, cause: CloseCause | Error): void;
  /**
   * The client gave up for good: maxAttempts reached, a failure shouldRetry declined (by default an HTTP 4xx
   * refusal other than 408/429), or a close code in finalCodes. cause is the last failure; error says it in one
   * line with the URL and, for a refusal, the HTTP status (a ReconnectError, code 'ERR_RECONNECT_GAVE_UP').
   */
  giveUp?(cause: CloseCause | Error, error: ReconnectError): void;
  /** Closes the client for good when aborted (the pending attempt is cancelled; an open connection closes with 1000). */
  signal?: AbortSignal;
}

export class ReconnectingClient<T = unknown> {
  /** The live connection, or null between connections. */
  current: WebSocket<T> | null = null;
  private closed = false;
  /** current's open() has finished and the queue went out: send() writes straight to it. */
  private ready = false;
  private attempts = 0;
  /** When the current connection opened (performance.now()). */
  private openedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: { data: SendData; options: SendOptions | undefined }[] = [];
  private readonly policy: ReconnectPolicy;
  /** Cancels the handshake in flight when the client ends. */
  private readonly stopping = new AbortController();
  /** The URL of the latest attempt (beforeAttempt may change it), for the final error. */
  private lastUrl: string | URL;
  private startPromise: Promise<this> | null = null;
  private settleStart: ((error: ReconnectError | null) => void) | null = null;
  /** Why the client ended, once it has. */
  private ending: ReconnectError | null = null;
  private readonly onAbort = () => this.abort();

  /** A handle that does not connect yet: start() does. close() and the signal work before the first connection too. */
  constructor(
    readonly url: string | URL,
    private readonly options: ReconnectingOptions<T> = {},
  ) {
    parseTarget(url);
    checkOptions('reconnecting()', options, RECONNECTING_SCHEMA);
    this.policy = resolvePolicy(options.reconnect);
    this.lastUrl = url;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** CONNECTING until a connection is open and its open() has finished; CLOSED once the client has ended. */
  get readyState(): ReadyState {
    if (this.closed) return this.current ? this.current.readyState : ReadyState.CLOSED;
    return this.current && this.ready ? this.current.readyState : ReadyState.CONNECTING;
  }

  /**
   * Sends on the live connection (SENT, BACKPRESSURE or DROPPED as ws.send). Otherwise, with queueWhileDisconnected,
   * queues it: QUEUED, or DROPPED once the queue is full; without a queue it throws ERR_NOT_CONNECTED. After the client
   * has ended it throws ERR_NOT_CONNECTED.
   */
  send(data: SendData, options?: SendOptions): SendStatus {
    if (this.closed) throw new WsboltError('ERR_NOT_CONNECTED', 'the client was closed');
    const ws = this.current;
    if (ws && this.ready && ws.readyState === ReadyState.OPEN) return ws.send(data, options);
    const limit = this.policy.queueWhileDisconnected;
    if (this.queue.length < limit) {
      this.queue.push({ data, options });
      return SendStatus.QUEUED;
    }
    if (limit > 0) return SendStatus.DROPPED;
    throw new WsboltError('ERR_NOT_CONNECTED', 'not connected (reconnecting); the message was not sent');
  }

  /** Closes for good: no reconnect afterwards, the queue is discarded, a pending start() rejects (ERR_RECONNECT_CLOSED). */
  close(code?: number, reason?: string): void {
    if (!this.closed) this.end(new ReconnectError('ERR_RECONNECT_CLOSED', displayUrl(this.lastUrl), this.attempts, undefined));
    this.current?.close(code, reason);
  }

  /**
   * Connects, retrying per the policy; resolves once a connection is open and its open() has finished. Rejects with a
   * ReconnectError if the client ends first: it gave up, or was closed or aborted. Calling it again returns the same promise.
   */
  start(): Promise<this> {
    this.startPromise ??= new Promise<this>((resolve, reject) => {
      this.settleStart = (error) => {
        this.settleStart = null;
        if (error) reject(error);
        else resolve(this);
      };
      if (this.ending) this.settleStart(this.ending);
      else if (this.options.signal?.aborted) this.abort();
      else void this.attempt();
    });
    return this.startPromise;
  }

  private async attempt(): Promise<void> {
    if (this.closed) return;
    let overrides: AttemptOverrides | void;
    try {
      overrides = await this.policy.beforeAttempt?.(this.attempts);
    } catch (error) {
      return this.failed(asError(error));
    }
    if (this.closed) return;
    const user = this.options;
    const url = overrides?.url ?? this.url;
    this.lastUrl = url;
    openConnection<T>(url, {
      ...user,
      headers: withHeaders(user.headers, overrides?.headers),
      signal: this.stopping.signal,
      open: (ws) => {
        if (this.closed) {
          // close() was called while this attempt was under way.
          ws.close(1000);
          return;
        }
        this.current = ws;
        this.ready = false;
        this.openedAt = performance.now();
        // Returned, so the engine sees what it throws or rejects with (1011, error callback); the queue then waits for the next connection.
        const result = user.open?.(ws);
        if (isThenable(result)) {
          Promise.resolve(result).then(
            () => this.goLive(ws),
            () => {},
          );
        } else {
          this.goLive(ws);
        }
        return result;
      },
      close: (ws, code, reason, cause) => {
        if (this.current !== ws && this.closed) return; // an attempt closed before it was ever handed out
        if (this.current === ws) {
          this.current = null;
          this.ready = false;
          // Decided at the close (no timer per connection): only a connection that lasted starts the backoff over.
          if (performance.now() - this.openedAt >= this.policy.stableAfter) this.attempts = 0;
        }
        // A user close() that fails is reported by the engine; coming back must not depend on it.
        try {
          return user.close?.(ws, code, reason, cause);
        } finally {
          if (!this.closed) this.lost(code, cause);
        }
      },
    }).catch((error: Error) => this.failed(error));
  }

  /** open() has finished on ws: what waited in the queue goes out after what open() sent. */
  private goLive(ws: WebSocket<T>): void {
    if (this.closed || this.current !== ws || ws.readyState !== ReadyState.OPEN) return;
    this.ready = true;
    for (const item of this.queue.splice(0)) ws.send(item.data, item.options);
    this.settleStart?.(null);
  }

  /** An open connection ended. */
  private lost(code: number, cause: CloseCause): void {
    if (this.policy.finalCodes.includes(code)) return this.giveUp(cause, code);
    this.attempts++;
    if (this.attempts > this.policy.maxAttempts) return this.giveUp(cause);
    this.wait(cause);
  }

  /** An attempt failed before a connection opened. */
  private failed(error: Error): void {
    if (this.closed) return;
    this.attempts++;
    if (this.attempts > this.policy.maxAttempts || !this.worthRetrying(error)) return this.giveUp(error);
    this.wait(error);
  }

  private worthRetrying(error: Error): boolean {
    try {
      return this.policy.shouldRetry(error, this.attempts) === true;
    } catch {
      return false; // documented: a shouldRetry that throws declines
    }
  }

  private wait(cause: CloseCause | Error): void {
    const delay = backoffDelay(this.policy, this.attempts);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.attempt();
    }, delay);
    callGuarded(this.options, 'reconnecting', this.options.reconnecting, this.attempts, delay, cause);
  }

  private giveUp(cause: CloseCause | Error, finalCode?: number): void {
    const error = new ReconnectError('ERR_RECONNECT_GAVE_UP', displayUrl(this.lastUrl), Math.max(1, this.attempts), cause, finalCode);
    this.end(error);
    callGuarded(this.options, 'giveUp', this.options.giveUp, cause, error);
  }

  private abort(): void {
    if (this.closed) return;
    this.end(new ReconnectError('ERR_RECONNECT_ABORTED', displayUrl(this.lastUrl), this.attempts, this.options.signal?.reason));
    this.current?.close(1000);
  }

  /** The client ends for good: no timer, no queue, no handshake in flight; a pending start() rejects. */
  private end(error: ReconnectError): void {
    this.closed = true;
    this.ready = false;
    this.ending = error;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.stopping.abort();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.settleStart?.(error);
  }
}

/** The configured headers with this attempt's over them (names compared case-insensitively, as HTTP does). */
function withHeaders(base: Record<string, string> | undefined, fresh: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!fresh) return base;
  const replaced = new Set(Object.keys(fresh).map((name) => name.toLowerCase()));
  const kept = Object.entries(base ?? {}).filter(([name]) => !replaced.has(name.toLowerCase()));
  return { ...Object.fromEntries(kept), ...fresh };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Connects and keeps reconnecting per options.reconnect; resolves once the first connection is open and its open()
 * has finished. For a handle before that (to close it, or to send into the queue), use
 * `const client = new ReconnectingClient(url, options); client.start()`, or pass a `signal`.
 */
export function reconnecting<T = unknown>(url: string | URL, options: ReconnectingOptions<T> = {}): Promise<ReconnectingClient<T>> {
  let client: ReconnectingClient<T>;
  try {
    client = new ReconnectingClient<T>(url, options);
  } catch (error) {
    return Promise.reject(error);
  }
  return client.start();
}
