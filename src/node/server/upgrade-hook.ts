/**
 * The route's upgrade hook, as the pipeline sees it: its time limit (what is left of handshakeTimeout) and how its
 * result reads (a rejection, or what to accept with). Running it, with early data and refusals, stays in the pipeline.
 */
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

export function isRejectionResult(result: UpgradeResult<unknown>): result is Rejection {
  return typeof result === 'object' && result !== null && 'reject' in result;
}
