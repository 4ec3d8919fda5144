/**
 * Idle timeouts without a timer per connection: one sweep every 250 ms
 * compares each connection's last input (in sweep ticks) with its
 * idleTimeout. Halfway through, a ping (with sendPings) gives a live peer the
 * chance to answer; at the limit the connection is closed with 1001.
 */
const TICK_MS = 250;

interface Idler {
  lastInput: number;
  pingOutstanding: boolean;
  readonly options: { idleTimeout: number; sendPings: boolean };
  ping(): unknown;
  idleTimeout(): void;
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
      const idleTicks = now - c.lastInput;
      const limit = (c.options.idleTimeout * 1000) / TICK_MS;
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
