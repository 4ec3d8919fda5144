/**
 * Per-connection zlib streams for context takeover (RFC 7692 §7.2.1,
 * §7.2.2): the LZ77 window survives from one message to the next, so the
 * stream's memory (about 2^windowBits for inflate, 4·2^windowBits plus the
 * memLevel hash for deflate) is what a connection pays for the better ratio.
 * Node's zlib streams only run on the thread pool, so every use goes through
 * the limiter (jobs.ts does that); one job at a time per stream, which the
 * core guarantees (sends wait in line, reading pauses while inflating).
 * close() frees the zlib memory at once and settles a job still running, so
 * that its limiter slot is released.
 *
 * A peer may end a message with a last deflate block (BFINAL, RFC 7692
 * §7.2.3.4, a compressor's Z_FINISH). zlib then takes no more input on that
 * stream, and the peer's compressor, to go on, has started a new stream with
 * an empty window: the next message is inflated on a fresh stream, as ws does.
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { type InflateError, TAIL, inflateFailure } from '../../extensions/permessage-deflate.js';
import { markSharedReadMemory } from '../read-memory.js';

let openContexts = 0;

/** zlib streams currently open for context takeover, process-wide (tests check that close frees them). */
export function openZlibContexts(): number {
  return openContexts;
}

export type Settle<R> = (result: R) => void;

abstract class Context<S extends DeflateRaw | InflateRaw, R> {
  protected chunks: Buffer[] = [];
  protected pending: Settle<R> | null = null;
  protected stream: S;
  private closed = false;

  constructor(
    stream: S,
    private readonly onClose: R,
  ) {
    openContexts++;
    this.stream = this.listen(stream);
  }

  /** Events of a stream since replaced (see ContextInflater) are ignored. */
  protected listen(stream: S): S {
    stream.on('data', (chunk: Buffer) => stream === this.stream && this.onData(chunk));
    stream.on('error', (error: Error) => stream === this.stream && this.fail(error));
    return stream;
  }

  protected abstract onData(chunk: Buffer): void;
  protected abstract fail(error: Error): void;

  protected settle(result: R): void {
    const pending = this.pending;
    this.pending = null;
    this.chunks = [];
    pending?.(result);
  }

  protected flushed(): Buffer {
    // One chunk is a view of zlib's output buffer, which zlib goes on filling with the next messages: moving it to
    // another thread would make zlib's next write fail an assertion and abort the process.
    if (this.chunks.length === 1) markSharedReadMemory(this.chunks[0]!.buffer);
    const out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    return out;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Frees the zlib state; a job in flight is settled (its result is then ignored by DeflateJobs). */
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

  /** The message compressed and sync-flushed (the tail still on: DeflateJobs strips it). */
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

export type ContextInflateResult = Buffer | 'too-big' | InflateError;

/** Inflates messages with the window kept between them, stopping one zlib chunk past the limit. */
export class ContextInflater extends Context<InflateRaw, ContextInflateResult> {
  private total = 0;
  private limit = 0;
  /** The peer's deflate stream ended inside the last message: the next one starts a new stream. */
  private streamEnded = false;

  constructor(private readonly windowBits: number) {
    super(createInflateRaw({ windowBits }), inflateFailure(new Error('the inflate stream was closed')));
  }

  inflate(compressed: Buffer, limit: number, done: Settle<ContextInflateResult>): void {
    if (this.streamEnded) this.restart();
    this.pending = done;
    this.total = 0;
    this.limit = limit;
    const stream = this.stream;
    const start = stream.bytesWritten;
    const size = compressed.length + TAIL.length;
    stream.write(compressed);
    stream.write(TAIL);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      if (this.pending !== done) return;
      // bytesWritten counts the input zlib took: it takes none past the end of the stream.
      const taken = stream.bytesWritten - start;
      if (taken === 0 && start > 0) {
        // The stream had ended exactly at the last message's end (a last empty stored block whose 00 00 ff ff the peer
        // removed and we put back), which zlib cannot show until more input comes: this message begins a new stream.
        this.restart();
        this.inflate(compressed, limit, done);
        return;
      }
      this.streamEnded = taken < size;
      this.settle(this.flushed());
    });
  }

  private restart(): void {
    this.stream.close();
    this.stream = this.listen(createInflateRaw({ windowBits: this.windowBits }));
    this.streamEnded = false;
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

  protected fail(error: Error): void {
    this.settle(inflateFailure(error));
    this.close();
  }
}
