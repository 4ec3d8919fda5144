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

/**
 * The environment for a program that is not Node running wsbolt (Chromium,
 * Python, redis-server): env without the sanitizer runtime that
 * `npm run test:asan` preloads into this process and its Node children
 * (which need it to load the instrumented addon). Outside that run, env as is.
 */
export function withoutSanitizers(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  const kept = (env.LD_PRELOAD ?? '').split(/[\s:]+/).filter((lib) => lib && !/libasan|libclang_rt\.asan/.test(lib));
  if (kept.length) out.LD_PRELOAD = kept.join(':');
  else delete out.LD_PRELOAD;
  delete out.ASAN_OPTIONS;
  delete out.UBSAN_OPTIONS;
  return out;
}
