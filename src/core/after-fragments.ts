/**
 * Whole messages that wait for the sender's own fragmented message to end.
 * RFC 6455 §5.4: the frames of one message may not be interleaved with the
 * frames of another; only control frames may go between them. A message from
 * outside the sender's stream (a publish: frames encoded once for many
 * connections, or a message for a compressor of its own) that arrives while
 * a fragmented send is open waits here, counted in the pending output so
 * that maxBackpressure weighs it as it weighs any send, and the Protocol
 * sends it, in order, right after the final fragment. The sender's own sends
 * never wait here: they continue the open message (as in ws). What waits here is the engine's own memory:
 * publish() copies the payload it is given (src/node/pubsub.ts), so nothing here loses its bytes meanwhile.
 */

/** A whole message: frames already encoded, or a payload the Protocol frames (and may compress) when its turn comes. */
export type WaitingMessage =
  | { frames: readonly Buffer[]; data: null; isBinary: false; compress: undefined }
  | { frames: null; data: Buffer | string; isBinary: boolean; compress: boolean | undefined };

export class AfterFragments {
  private queue: WaitingMessage[] = [];
  /** Bytes of the messages waiting (payload bytes, or the encoded frames' bytes). */
  bytes = 0;

  get any(): boolean {
    return this.queue.length > 0;
  }

  holdFrames(frames: readonly Buffer[], size: number): void {
    this.queue.push({ frames, data: null, isBinary: false, compress: undefined });
    this.bytes += size;
  }

  holdMessage(data: Buffer | string, isBinary: boolean, compress: boolean | undefined, size: number): void {
    this.queue.push({ frames: null, data, isBinary, compress });
    this.bytes += size;
  }

  /** Hands every waiting message over, in order, and forgets them (the final fragment was queued). */
  take(): WaitingMessage[] {
    const queue = this.queue;
    this.queue = [];
    this.bytes = 0;
    return queue;
  }

  /** Forgets them all: the connection closes or ended, and no data frame may follow our close frame (§5.5.1). */
  drop(): void {
    this.queue = [];
    this.bytes = 0;
  }
}
