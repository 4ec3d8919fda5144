/**
 * A bug in a user callback costs its connection, never the process: what a
 * callback throws, or a thenable it returns rejects with, becomes a
 * HandlerError that goes to the handler's error callback, or is printed when
 * there is none. Nothing here ever throws.
 */
import { type CallbackName, HandlerError } from '../core/errors.js';
import type { WebSocket } from './connection.js';
import type { Handler } from './types.js';

/** Calls onReject if value is a thenable that rejects; a value that is not a thenable costs one typeof. */
export function onRejection(value: unknown, onReject: (reason: unknown) => void): void {
  if (value === undefined || value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
  try {
    const then = (value as { then?: unknown }).then;
    if (typeof then === 'function') then.call(value, undefined, onReject);
  } catch (error) {
    // A hostile getter or then(): counts as a failure of the callback that returned it.
    onReject(error);
  }
}

/** Hands error to handler.error (not when error itself failed), or prints it with its stack. */
export function reportHandlerError(handler: Handler<any>, ws: WebSocket<any> | null, error: HandlerError): void {
  if (error.callback === 'error' || typeof handler.error !== 'function') {
    print(error);
    return;
  }
  try {
    onRejection(handler.error(ws, error), (reason) => print(new HandlerError('error', reason, true)));
  } catch (thrown) {
    print(new HandlerError('error', thrown));
  }
}

/**
 * Calls a callback that has no connection to end (the reconnecting client's
 * reconnecting and giveUp): a failure is reported with ws null.
 */
export function callGuarded<A extends unknown[]>(handler: Handler<any>, name: CallbackName, fn: ((...args: A) => unknown) | undefined, ...args: A): void {
  if (fn === undefined) return;
  try {
    onRejection(fn.apply(handler, args), (reason) => reportHandlerError(handler, null, new HandlerError(name, reason, true)));
  } catch (thrown) {
    reportHandlerError(handler, null, new HandlerError(name, thrown));
  }
}

function print(error: HandlerError): void {
  try {
    console.error(error);
  } catch {
    // a console that throws (a closed stdout) has nowhere left to report to
  }
}
