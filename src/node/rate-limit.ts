/**
 * Per-connection inbound rate limits as token buckets: each bucket holds up
 * to one second's allowance (or `burst`) and refills continuously. A message
 * that finds its bucket empty closes the connection with 1008.
 */
export interface RateLimit {
  /** Messages per second a peer may send; unlimited when absent. */
  messagesPerSecond?: number;
  /** Message bytes per second a peer may send; unlimited when absent. */
  bytesPerSecond?: number;
  /** Bucket size as a multiple of one second's allowance. Default 1. */
  burst?: number;
}

export class TokenBuckets {
  private messages: number;
  private bytes: number;
  private last = Date.now();
  private readonly messageCap: number;
  private readonly byteCap: number;

  constructor(private readonly limit: RateLimit) {
    const burst = limit.burst ?? 1;
    this.messageCap = (limit.messagesPerSecond ?? Infinity) * burst;
    this.byteCap = (limit.bytesPerSecond ?? Infinity) * burst;
    this.messages = this.messageCap;
    this.bytes = this.byteCap;
  }

  /** Takes one message of `size` bytes; false when either bucket is short. */
  take(size: number): boolean {
    const now = Date.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    if (this.limit.messagesPerSecond !== undefined) this.messages = Math.min(this.messageCap, this.messages + seconds * this.limit.messagesPerSecond);
    if (this.limit.bytesPerSecond !== undefined) this.bytes = Math.min(this.byteCap, this.bytes + seconds * this.limit.bytesPerSecond);
    this.messages -= 1;
    this.bytes -= size;
    return this.messages >= 0 && this.bytes >= 0;
  }
}
