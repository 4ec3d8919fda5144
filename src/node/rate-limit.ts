/**
 * Per-connection inbound rate limits as token buckets: each bucket holds up
 * to one second's allowance (or `burst`) and refills continuously. What costs
 * the server work is counted, not only whole messages: every frame (pings,
 * pongs and each fragment included) and every byte received. A peer that
 * finds any bucket empty is closed with 1008.
 */
export interface RateLimit {
  /** Data messages per second a peer may send; unlimited when absent. */
  messagesPerSecond?: number;
  /**
   * Frames per second, control frames and each fragment counted: a ping
   * flood or a message of many fragments trips this where it would not trip
   * messagesPerSecond. Defaults to messagesPerSecond (an unfragmented message
   * is one frame); unlimited when both are absent.
   */
  framesPerSecond?: number;
  /** Bytes per second as received (frame headers and control frames included; compressed messages count compressed); unlimited when absent. */
  bytesPerSecond?: number;
  /** Bucket size as a multiple of one second's allowance. Default 1. */
  burst?: number;
}

/** One token bucket; a rate of undefined never runs short. */
class Bucket {
  private tokens: number;
  private readonly cap: number;

  constructor(
    private readonly rate: number | undefined,
    burst: number,
  ) {
    this.cap = (rate ?? Infinity) * burst;
    this.tokens = this.cap;
  }

  refill(seconds: number): void {
    if (this.rate !== undefined) this.tokens = Math.min(this.cap, this.tokens + seconds * this.rate);
  }

  /** Takes n tokens; false once the bucket is overdrawn. */
  take(n: number): boolean {
    if (this.rate === undefined) return true;
    this.tokens -= n;
    return this.tokens >= 0;
  }
}

export class TokenBuckets {
  private last = Date.now();
  private readonly messages: Bucket;
  private readonly frames: Bucket;
  private readonly bytes: Bucket;

  constructor(limit: RateLimit) {
    const burst = limit.burst ?? 1;
    this.messages = new Bucket(limit.messagesPerSecond, burst);
    this.frames = new Bucket(limit.framesPerSecond ?? limit.messagesPerSecond, burst);
    this.bytes = new Bucket(limit.bytesPerSecond, burst);
  }

  /** One complete data message; false when the message budget is short. */
  takeMessage(): boolean {
    this.refill();
    return this.messages.take(1);
  }

  /** One received frame (of any kind); false when the frame budget is short. */
  takeFrame(): boolean {
    this.refill();
    return this.frames.take(1);
  }

  /** Bytes of one read; false when the byte budget is short. */
  takeBytes(size: number): boolean {
    this.refill();
    return this.bytes.take(size);
  }

  private refill(): void {
    const now = Date.now();
    if (now === this.last) return;
    const seconds = (now - this.last) / 1000;
    this.last = now;
    this.messages.refill(seconds);
    this.frames.refill(seconds);
    this.bytes.refill(seconds);
  }
}
