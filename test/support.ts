/**
 * Waiting helpers shared by the test suites: a bounded wait, a queue of
 * values to await one by one, and cleanups run after each test.
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

/** Values (messages, events) as they arrive, awaited one by one in order; every wait is bounded. */
export class Queue<T> {
  readonly items: T[] = [];
  private taken = 0;
  private waiters: ((value: T) => void)[] = [];

  push(value: T): void {
    this.items.push(value);
    const waiter = this.waiters.shift();
    if (waiter) {
      this.taken++;
      waiter(value);
    }
  }

  /** Values not taken yet. */
  get pending(): number {
    return this.items.length - this.taken;
  }

  /** The next value not yet taken. */
  next(ms = 5000, label = 'next value'): Promise<T> {
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
  async take(n: number, ms = 5000, label = 'values'): Promise<T[]> {
    const deadline = Date.now() + ms;
    const out: T[] = [];
    while (out.length < n) out.push(await this.next(Math.max(1, deadline - Date.now()), `${label} (${out.length} of ${n})`));
    return out;
  }

  /** The next value that satisfies test; the ones skipped are consumed. */
  async find(test: (value: T) => boolean, ms = 5000, label = 'matching value'): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await this.next(Math.max(1, deadline - Date.now()), label);
      if (test(value)) return value;
    }
  }
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

/**
 * The Node socket under a wsbolt connection carried by a StreamTransport (for byte counters and flow control in
 * tests): open such connections with `transport: 'stream'`, since the native transport has no Node socket.
 */
export function socketOf(ws: { io: unknown }): import('node:net').Socket {
  const io = ws.io as { kind: string; stream?: import('node:net').Socket };
  if (io.kind !== 'stream' || !io.stream) throw new Error("this connection is not carried by a stream transport (open it with transport: 'stream')");
  return io.stream;
}

/**
 * The transport a plain TCP connection gets in this vitest project (WSBOLT_EXPECT_TRANSPORT): 'native' where the
 * addon adopts sockets, 'stream' with WSBOLT_TRANSPORT=stream or WSBOLT_NO_NATIVE=1.
 */
export const expectedTransport: 'native' | 'stream' =
  (process.env.WSBOLT_EXPECT_TRANSPORT as 'native' | 'stream' | undefined) || (process.env.WSBOLT_NO_NATIVE || process.env.WSBOLT_TRANSPORT === 'stream' ? 'stream' : 'native');
