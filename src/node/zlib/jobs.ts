/**
 * permessage-deflate work on libuv's thread pool, one DeflateJobs per
 * connection: what the core hands its driver (onInflateNeeded /
 * onDeflateNeeded) because it is too large to run inline or because the
 * direction keeps its context, whose zlib stream (context.ts) only runs
 * there. Every job goes through the process-wide limiter (limiter.ts); the
 * core keeps the connection's order around it (one job per direction at a
 * time). The parameters come from the synchronous codec the core uses.
 */
import { deflateRaw } from 'node:zlib';
import { type InflateResult, type PerMessageDeflate, stripTail } from '../../extensions/permessage-deflate.js';
import { ContextDeflater, ContextInflater } from './context.js';
import { zlibLimiter } from './limiter.js';

export class DeflateJobs {
  private deflater: ContextDeflater | null = null;
  private inflater: ContextInflater | null = null;
  private closedFlag = false;

  constructor(private readonly codec: PerMessageDeflate) {}

  /** True once close() ran: pending jobs are dropped, no callback follows. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Compresses a message (the trailing 00 00 ff ff removed); done is not
   * called once closed. One call at a time (the core waits for each).
   */
  compress(data: Buffer | string, done: (result: Buffer | Error) => void): void {
    zlibLimiter.add((release) => {
      if (this.closedFlag) return release();
      const finish = (result: Buffer | Error) => {
        release();
        if (!this.closedFlag) done(result instanceof Error ? result : stripTail(result));
      };
      const codec = this.codec;
      if (codec.sendContext) {
        (this.deflater ??= new ContextDeflater(codec.sendWindowBits, codec.level, codec.memLevel)).compress(data, finish);
      } else {
        deflateRaw(data, codec.deflateOptions(), (error, out) => finish(error ?? out));
      }
    });
  }

  /** Inflates a message, producing at most limit bytes; done is not called once closed. One call at a time. */
  inflate(compressed: Buffer, limit: number, done: (result: InflateResult) => void): void {
    zlibLimiter.add((release) => {
      if (this.closedFlag) return release();
      const finish = (result: InflateResult) => {
        release();
        if (!this.closedFlag) done(result);
      };
      if (this.codec.receiveContext) {
        (this.inflater ??= new ContextInflater(this.codec.receiveWindowBits)).inflate(compressed, limit, finish);
      } else {
        // A stream of its own, closed after this message: it stops zlib the moment the output passes the limit, where
        // the one-shot inflateRaw() ran on to maxOutputLength and then joined; 5 bombs grew RSS by ~40 MiB, not ~71.
        const once = new ContextInflater(15);
        once.inflate(compressed, limit, (result) => {
          once.close();
          finish(result);
        });
      }
    });
  }

  /** The connection is gone: free the zlib streams now; jobs still queued or running end without a callback. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }
}
