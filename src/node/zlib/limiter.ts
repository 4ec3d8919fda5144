/**
 * One process-wide FIFO limit on zlib jobs that run on libuv's thread pool.
 * Without it, a burst of large messages on many connections would queue
 * inside libuv, where nothing is ordered or bounded and where fs and
 * dns.lookup wait behind compression. Jobs start in the order they were
 * added; a connection never has more than one job here per direction, so
 * FIFO order is also each connection's order.
 */

/** A job calls release() exactly once, when its zlib work is over (or was skipped). */
export type ZlibJob = (release: () => void) => void;

/**
 * The thread pool has UV_THREADPOOL_SIZE threads (4 unless set); zlib gets
 * all but one of them, so file system calls and dns.lookup (which also run
 * there) are never starved by compression. More than the pool size would only
 * move the queue into libuv.
 */
function defaultConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(pool, 1024) - 1);
}

export class ZlibLimiter {
  private concurrencyLimit: number;
  private active = 0;
  private readonly queue: ZlibJob[] = [];
  private head = 0;

  constructor(concurrency: number) {
    this.concurrencyLimit = checkConcurrency(concurrency);
  }

  get concurrency(): number {
    return this.concurrencyLimit;
  }

  set concurrency(n: number) {
    this.concurrencyLimit = checkConcurrency(n);
    this.run();
  }

  /** Jobs running now. */
  get running(): number {
    return this.active;
  }

  /** Jobs waiting for a slot. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  add(job: ZlibJob): void {
    this.queue.push(job);
    this.run();
  }

  private run(): void {
    while (this.active < this.concurrencyLimit && this.head < this.queue.length) {
      const job = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as ZlibJob; // let the job's data go
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.active++;
      let released = false;
      job(() => {
        if (released) return;
        released = true;
        this.active--;
        this.run();
      });
    }
  }
}

function checkConcurrency(n: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError('the zlib concurrency must be an integer >= 1');
  return n;
}

/** The limiter every connection's offloaded zlib work goes through. */
export const zlibLimiter = new ZlibLimiter(defaultConcurrency());

/**
 * Sets how many zlib jobs may run on the thread pool at once, process-wide
 * (default: UV_THREADPOOL_SIZE - 1, that is 3). Jobs already running finish;
 * waiting ones start as slots free up, still in order.
 */
export function setZlibConcurrency(n: number): void {
  zlibLimiter.concurrency = n;
}

/** What the limiter is doing (for tests and monitoring). */
export function zlibStats(): { concurrency: number; running: number; pending: number } {
  return { concurrency: zlibLimiter.concurrency, running: zlibLimiter.running, pending: zlibLimiter.pending };
}
