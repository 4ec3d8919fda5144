/**
 * Per-connection zlib streams for context takeover (RFC 7692 §7.2.1,
 * §7.2.2): the LZ77 window survives from one message to the next, so the
 * stream's memory (about 2^windowBits for inflate, 4·2^windowBits plus the
 * memLevel hash for deflate) is what a connection pays for the better ratio.
 * Node's zlib streams only run on the thread pool, so every use goes through
 * the limiter (the codec does that); one job at a time per stream, which the
 * connection guarantees (sends wait in line, reading pauses while inflating).
 * close() frees the zlib memory at once and settles a job still running, so
 * that its limiter slot is released.
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

/** The empty stored block a sync flush ends with (§7.2.1). */
export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

let openContexts = 0;

/** zlib streams currently open for context takeover, process-wide (tests check that close frees them). */
export function openZlibContexts(): number {
  return openContexts;
}

export type Settle<R> = (result: R) => void;

abstract class Context<S extends DeflateRaw | InflateRaw, R> {
  protected chunks: Buffer[] = [];
  protected pending: Settle<R> | null = null;
  private closed = false;

  constructor(
    protected readonly stream: S,
    private readonly onClose: R,
  ) {
    openContexts++;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', () => this.fail());
  }

  protected abstract onData(chunk: Buffer): void;
  protected abstract fail(): void;

  protected settle(result: R): void {
    const pending = this.pending;
    this.pending = null;
    this.chunks = [];
    pending?.(result);
  }

  protected flushed(): Buffer {
    const out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    return out;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Frees the zlib state; a job in flight is settled (its result is then ignored by the codec). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    openContexts--;
    this.stream.close();
    this.settle(this.onClose);
  }
}

/** Compresses messages with the window kept between them. */
export class ContextDeflater extends Context<DeflateRaw, Buffer | Error> {
  constructor(windowBits: number, level: number, memLevel: number) {
    super(createDeflateRaw({ windowBits, level, memLevel }), new Error('the compression context was closed'));
  }

  /** The message compressed and sync-flushed (the tail still on: the codec strips it). */
  compress(data: Buffer | string, done: Settle<Buffer | Error>): void {
    this.pending = done;
    this.stream.write(data);
    this.stream.flush(constants.Z_SYNC_FLUSH, () => {
      if (this.pending === done) this.settle(this.flushed());
    });
  }

  protected onData(chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  protected fail(): void {
    this.settle(new Error('zlib failed to compress'));
    this.close();
  }
}

export type ContextInflateResult = Buffer | 'too-big' | 'invalid';

/** Inflates messages with the window kept between them, stopping one zlib chunk past the limit. */
export class ContextInflater extends Context<InflateRaw, ContextInflateResult> {
  private total = 0;
  private limit = 0;

  constructor(windowBits: number) {
    super(createInflateRaw({ windowBits }), 'invalid');
  }

  inflate(compressed: Buffer, limit: number, done: Settle<ContextInflateResult>): void {
    this.pending = done;
    this.total = 0;
    this.limit = limit;
    this.stream.write(compressed);
    this.stream.write(TAIL);
    this.stream.flush(constants.Z_SYNC_FLUSH, () => {
      if (this.pending === done) this.settle(this.flushed());
    });
  }

  protected onData(chunk: Buffer): void {
    if (this.pending === null) return;
    this.total += chunk.length;
    if (this.total > this.limit) {
      // A bomb, or just too big: refuse it and stop zlib now rather than inflate the rest.
      this.settle('too-big');
      this.close();
      return;
    }
    this.chunks.push(chunk);
  }

  protected fail(): void {
    this.settle('invalid');
    this.close();
  }
}
