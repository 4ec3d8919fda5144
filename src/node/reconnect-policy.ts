/**
 * The reconnecting client's policy, apart from the client itself: its
 * options, which failures are worth another attempt, how long to wait, and
 * the one error the client ends with.
 */
import { WsboltError } from '../core/errors.js';
import { UnexpectedResponseError } from './client-errors.js';

export { displayUrl } from './client-errors.js';
import type { CloseCause } from './types.js';

/** What beforeAttempt may change for one attempt. */
export interface AttemptOverrides {
  /** The URL for this attempt (for example with a fresh token in the query); default: the URL given to reconnecting(). */
  url?: string | URL;
  /** Request headers for this attempt, merged over the `headers` option (for example a fresh Authorization). */
  headers?: Record<string, string>;
}

/**
 * reconnecting()'s retry policy (its `reconnect` option): the backoff between attempts (delays in ms), when to give up,
 * the queue kept while disconnected, and the hooks shouldRetry and beforeAttempt. Every field has a default.
 */
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
  /**
   * Most messages send() keeps while there is no open connection, and while a new connection's open() runs: they
   * go out in order once open() has returned (or its promise resolved), so an app can authenticate first.
   * send() reports SendStatus.QUEUED for each, and SendStatus.DROPPED once the queue holds this many. A close()
   * or a give-up discards the queue. Default 0: no queue, send() throws ERR_NOT_CONNECTED while disconnected.
   */
  queueWhileDisconnected?: number;
  /**
   * Whether a failed attempt (an error, not a closed connection: see finalCodes) is worth another one; attempt is
   * the number the next one would have (1, 2, ...). It is asked only while maxAttempts allows another. Default
   * `defaultShouldRetry`: every failure except an HTTP refusal with a 4xx status other than 408 and 429 (a 401 or
   * 403 will not change by asking again). A shouldRetry that throws counts as false.
   */
  shouldRetry?(error: Error, attempt: number): boolean;
  /**
   * Called before every attempt (0 for the first connection, then the number reconnecting() was given) and
   * awaited if it returns a promise: its url and headers replace the configured ones for that attempt, so a
   * fresh token can go into each. A beforeAttempt that throws or rejects counts as a failed attempt.
   */
  beforeAttempt?(attempt: number): AttemptOverrides | void | Promise<AttemptOverrides | void>;
}

export type ReconnectPolicy = Required<Omit<ReconnectOptions, 'beforeAttempt'>> & Pick<ReconnectOptions, 'beforeAttempt'>;

export function resolvePolicy(options: ReconnectOptions | true | undefined): ReconnectPolicy {
  const r = options === true || options === undefined ? {} : options;
  return {
    initialDelay: r.initialDelay ?? 250,
    maxDelay: r.maxDelay ?? 30_000,
    factor: r.factor ?? 2,
    jitter: Math.min(1, Math.max(0, r.jitter ?? 0.5)),
    maxAttempts: r.maxAttempts ?? Infinity,
    stableAfter: r.stableAfter ?? 5_000,
    finalCodes: r.finalCodes ?? [],
    queueWhileDisconnected: r.queueWhileDisconnected ?? 0,
    shouldRetry: r.shouldRetry ?? defaultShouldRetry,
    beforeAttempt: r.beforeAttempt,
  };
}

/** Retries everything but a definite HTTP refusal: 4xx other than 408 (Request Timeout) and 429 (Too Many Requests). */
export function defaultShouldRetry(error: Error): boolean {
  if (!(error instanceof UnexpectedResponseError)) return true;
  return !(error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429);
}

/** The wait before attempt n (1, 2, ...): initialDelay × factor^(n−1), capped at maxDelay, less up to jitter of it. */
export function backoffDelay(policy: ReconnectPolicy, attempt: number): number {
  const base = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** (attempt - 1));
  return Math.round(base * (1 - policy.jitter * Math.random()));
}

/**
 * How a reconnecting client ended, when not by its own close(): giveUp's second argument and what start() rejects
 * with. code 'ERR_RECONNECT_GAVE_UP' (maxAttempts reached, a failure shouldRetry declined, or a close code in
 * finalCodes), 'ERR_RECONNECT_CLOSED' (close() before the first connection opened; start() only) or
 * 'ERR_RECONNECT_ABORTED' (the signal aborted; name 'AbortError'). `cause` is the last failure.
 */
export class ReconnectError extends WsboltError {
  /** The HTTP status when the server refused the handshake. */
  readonly status: number | undefined;
  /** The close code when the connection ended with one of finalCodes. */
  readonly finalCode: number | undefined;

  constructor(
    code: 'ERR_RECONNECT_GAVE_UP' | 'ERR_RECONNECT_CLOSED' | 'ERR_RECONNECT_ABORTED',
    /** The URL of the last attempt, without credentials. */
    readonly url: string,
    /** Failed attempts in a row, the last one included. */
    readonly attempts: number,
    cause: CloseCause | Error | undefined,
    finalCode?: number,
  ) {
    super(code, describe(code, url, attempts, cause, finalCode), undefined, { cause });
    this.name = code === 'ERR_RECONNECT_ABORTED' ? 'AbortError' : 'ReconnectError';
    this.status = cause instanceof UnexpectedResponseError ? cause.status : undefined;
    this.finalCode = finalCode;
  }
}

function describe(code: string, url: string, attempts: number, cause: CloseCause | Error | undefined, finalCode?: number): string {
  if (code === 'ERR_RECONNECT_CLOSED') return `the reconnecting client for ${url} was closed before it connected`;
  if (code === 'ERR_RECONNECT_ABORTED') return `the reconnecting client for ${url} was aborted`;
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  if (finalCode !== undefined) return `gave up on ${url}: the connection closed with ${finalCode}, one of finalCodes`;
  if (cause instanceof UnexpectedResponseError) return `gave up on ${url} after ${tries}: the server refused the handshake with ${cause.status}`;
  if (cause instanceof Error) return `gave up on ${url} after ${tries}: ${cause.message}`;
  return `gave up on ${url} after ${tries}: the connection ended (${cause?.kind ?? 'unknown'})`;
}
