/**
 * Waiting without sleeping: a bounded wait, a queue of values awaited one by
 * one, deferred promises, the first emission of an event, and the cleanups
 * run after each test. Every timer here is an upper bound that fails the
 * wait; none decides an outcome.
 */
import type { EventEmitter } from 'node:events';
import { afterEach } from 'vitest';

/** Rejects with a clear message when the promise does not settle within ms. */
export function withTimeout<T>(promise: Promise<T>, ms = 5000, label = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Values (messages, events, connections) as they arrive, awaited one by one in order; every wait is bounded. */
export class Queue<T> {
  /** Every value pushed so far, taken or not. */
  readonly items: T[] = [];
  private taken = 0;
  private waiters: ((value: T) => void)[] = [];

  /** label names the values in timeout messages. */
  constructor(readonly label = 'next value') {}

  /** Bound, so that it can be passed as a callback. */
  push = (value: T): void => {
    this.items.push(value);
    const waiter = this.waiters.shift();
    if (waiter) {
      this.taken++;
      waiter(value);
    }
  };

  /** Values not taken yet. */
  get pending(): number {
    return this.items.length - this.taken;
  }

  /** Drops (and returns) the values not taken yet. */
  clear(): T[] {
    const dropped = this.items.slice(this.taken);
    this.taken = this.items.length;
    return dropped;
  }

  /** The next value not yet taken. */
  next(ms = 5000, label = this.label): Promise<T> {
    if (this.taken < this.items.length) return Promise.resolve(this.items[this.taken++]!);
    let waiter!: (value: T) => void;
    const promise = new Promise<T>((resolve) => this.waiters.push((waiter = resolve)));
    return withTimeout(promise, ms, label).catch((error) => {
      // a waiter that gave up must not swallow a later value
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      throw error;
    });
  }

  /** The next n values. */
  async take(n: number, ms = 5000, label = this.label): Promise<T[]> {
    const deadline = Date.now() + ms;
    const out: T[] = [];
    while (out.length < n) out.push(await this.next(Math.max(1, deadline - Date.now()), `${label} (${out.length} of ${n})`));
    return out;
  }

  /** The next value that satisfies test; the ones skipped are consumed. */
  async find(test: (value: T) => boolean, ms = 5000, label = `matching ${this.label}`): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await this.next(Math.max(1, deadline - Date.now()), label);
      if (test(value)) return value;
    }
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const d: Deferred<T> = {
    settled: false,
    promise: new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    }),
    resolve(value: T) {
      d.settled = true;
      resolve(value);
    },
    reject(error: unknown) {
      d.settled = true;
      reject(error);
    },
  };
  return d;
}

/** The first emission of event (its arguments), bounded by ms. */
export function once<A extends any[] = any[]>(emitter: EventEmitter, event: string, ms = 5000): Promise<A> {
  const promise = withTimeout(new Promise<A>((resolve) => emitter.once(event, (...args: any[]) => resolve(args as A))), ms, `event '${event}'`);
  promise.catch(() => {}); // may be awaited later than it fails: the awaiter still sees the rejection
  return promise;
}

/** The error fn's promise fails with (fails the test when it succeeds). */
export async function failure(fn: () => Promise<unknown>): Promise<any> {
  try {
    const value = await fn();
    throw new Error(`expected a failure, got ${String(value)}`);
  } catch (error) {
    return error;
  }
}

// ---- cleanup ----------------------------------------------------------------
// One registry per test file (vitest isolates files). Two ways to run it:
// useCleanup() (best effort: a failing cleanup must not hide the test's own
// result) or afterEach(cleanup) (strict: a failing cleanup fails the test).

const cleanups: (() => unknown)[] = [];

/** Registers something to undo after the current test (run last registered first). */
export function defer(fn: () => unknown): void {
  cleanups.push(fn);
}

/** Runs every registered cleanup, each bounded; rethrows the first failure. For afterEach(cleanup). */
export async function cleanup(): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await withTimeout(Promise.resolve().then(fn), 5000, 'cleanup');
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}

/** Registers a best-effort afterEach over the registry and returns defer. Call once at the top of a test file. */
export function useCleanup(): (fn: () => unknown) => void {
  afterEach(async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      try {
        await withTimeout(Promise.resolve().then(fn), 10_000, 'cleanup');
      } catch {
        // best effort: a failing cleanup must not hide the test's own result
      }
    }
  });
  return defer;
}
