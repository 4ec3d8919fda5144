/**
 * The route's upgrade hook, as the pipeline sees it: its time limit (what is left of handshakeTimeout) and how its
 * result reads (a rejection, or what to accept with). Running it, with early data and refusals, stays in the pipeline.
 */
import { type CheckedHeaders, checkedHeaders } from '../../core/handshake.js';
import type { Rejection, UpgradeResult } from '../types.js';

/** What withTimeout throws when the hook's promise outlives its time. */
export const TIMED_OUT = Symbol('timed out');

/** value itself when it is not a thenable (no timer, no wait); else its result, or TIMED_OUT thrown after ms. */
export async function withTimeout<R>(value: R | Promise<R>, ms: number): Promise<R> {
  if (!(value instanceof Promise) && !(value && typeof (value as { then?: unknown }).then === 'function')) return value;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([value, new Promise<never>((_, fail) => (timer = setTimeout(() => fail(TIMED_OUT), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function isRejectionResult(result: UpgradeResult<unknown>): result is Rejection {
  return typeof result === 'object' && result !== null && 'reject' in result;
}

/** What the hook returned, read once into plain values. */
export type HookOutcome =
  | { reject: { status: number; body: string | Buffer; headers: CheckedHeaders } }
  | { accept: { data: unknown; protocol: string | undefined; headers: CheckedHeaders } };

/**
 * Reads the hook's result once, before anything is answered: a result that cannot be read (a throwing getter, a
 * revoked Proxy), headers that would split the response, or a refusal status that is not an HTTP error or redirect
 * throw here, where they still cost the hook a 500 and a report rather than the connection a reset.
 */
export function readHookResult(result: UpgradeResult<unknown>): HookOutcome {
  if (isRejectionResult(result)) {
    const { status, body, headers } = result.reject;
    if (!Number.isInteger(status) || status < 300 || status > 599)
      throw new TypeError(`reject(): the status must be an integer from 300 to 599, received ${String(status)}`);
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) throw new TypeError('reject(): the body must be a string or a Buffer');
    return { reject: { status, body: body ?? '', headers: checkedHeaders(headers) } };
  }
  const accepted = result && result !== true ? result : {};
  const protocol = accepted.protocol;
  if (protocol !== undefined && typeof protocol !== 'string') throw new TypeError('accept(): the protocol must be a string');
  return { accept: { data: accepted.data, protocol, headers: checkedHeaders(accepted.headers) } };
}
