/**
 * Idle and message timeouts without a timer per connection: one sweep every
 * 250 ms compares each connection's last input (in sweep ticks) with its
 * idleTimeout. Halfway through, a ping (with sendPings) gives a live peer the
 * chance to answer; at the limit the connection is closed with 1001. The
 * same sweep compares how long an unfinished frame or message has been
 * arriving with messageTimeout (any byte resets the idle clock, so this is
 * what ends a peer that trickles).
 */
const TICK_MS = 250;

interface Idler {
  lastInput: number;
  pingOutstanding: boolean;
  /** The tick the unfinished frame or message began arriving, or -1. */
  inputStartedAt: number;
  readonly readingPaused: boolean;
  readonly options: { idleTimeout: number; sendPings: boolean; messageTimeout: number };
  ping(): unknown;
  idleTimeout(): void;
  messageTimeout(): void;
}

class IdleSweeper {
  /** Sweeps so far: the coarse clock connections stamp their input with. */
  ticks = 0;
  private readonly members = new Set<Idler>();
  private timer: NodeJS.Timeout | null = null;

  add(connection: Idler): void {
    connection.lastInput = this.ticks;
    this.members.add(connection);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), TICK_MS);
      this.timer.unref(); // idle tracking alone never keeps the process alive
    }
  }

  delete(connection: Idler): void {
    this.members.delete(connection);
    if (this.members.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private sweep(): void {
    const now = ++this.ticks;
    for (const c of this.members) {
      if (c.inputStartedAt >= 0 && c.options.messageTimeout > 0) {
        // Time we spend not reading is not the peer's: the clock stands still meanwhile.
        if (c.readingPaused) c.inputStartedAt++;
        // Strictly more ticks than the limit, so that no message is cut before messageTimeout (stamps fall between ticks).
        else if (now - c.inputStartedAt > Math.ceil(c.options.messageTimeout / TICK_MS)) {
          c.messageTimeout();
          continue;
        }
      }
      if (c.options.idleTimeout <= 0) continue;
      const idleTicks = now - c.lastInput;
      const limit = c.options.idleTimeout / TICK_MS;
      if (idleTicks >= limit) {
        c.idleTimeout();
      } else if (c.options.sendPings && !c.pingOutstanding && idleTicks >= limit / 2) {
        c.pingOutstanding = true;
        c.ping();
      }
    }
  }
}

export const idleSweeper = new IdleSweeper();
