/**
 * Waiting helpers shared by the test suites: a bounded wait, and cleanups run
 * after each test.
 */
import { afterEach } from 'vitest';

/** Rejects with a clear message when the promise does not settle within ms. */
export function withTimeout<T>(promise: Promise<T>, ms = 5000, label = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Cleanups run after each test, last registered first, each bounded. Call once at the top of a test file. */
export function useCleanup(): (fn: () => unknown) => void {
  const fns: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of fns.splice(0).reverse()) {
      try {
        await withTimeout(Promise.resolve().then(fn), 10_000, 'cleanup');
      } catch {
        // best effort: a failing cleanup must not hide the test's own result
      }
    }
  });
  return (fn) => void fns.push(fn);
}
