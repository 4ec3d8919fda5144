/**
 * Admission control: how many connections a server holds at once, overall (maxConnections) and per IP address
 * (maxConnectionsPerIp). A connection is counted from the start of its handshake, so that slow handshakes cannot
 * crowd past the limit, until it finishes; over the limit the upgrade gets 503 with Retry-After.
 */
import type { Duplex } from 'node:stream';
import type { ServerOptions } from './options.js';
import { peerSocket } from './upgrade-request.js';

export class Admission {
  private admitted = 0;
  private readonly perIp = new Map<string, number>();

  /** Reads the limits from the options on every call, as the server always has. */
  constructor(private readonly options: Pick<ServerOptions, 'maxConnections' | 'maxConnectionsPerIp' | 'retryAfter'>) {}

  /** The key a connection is counted under: its IP address when a per-IP limit needs it, else ''. */
  keyOf(socket: Duplex): string {
    // The peer's address costs a getpeername() call: only asked for when a per-IP limit needs it.
    // Every WebSocket stream of one HTTP/2 session counts under the session's address.
    return this.options.maxConnectionsPerIp !== undefined ? (peerSocket(socket).remoteAddress ?? '') : '';
  }

  /** Counts a connection in, or returns false when a limit is reached. */
  admit(ip: string): boolean {
    const { maxConnections, maxConnectionsPerIp } = this.options;
    if (maxConnections !== undefined && this.admitted >= maxConnections) return false;
    if (maxConnectionsPerIp !== undefined) {
      const fromIp = this.perIp.get(ip) ?? 0;
      if (fromIp >= maxConnectionsPerIp) return false;
      this.perIp.set(ip, fromIp + 1);
    }
    this.admitted++;
    return true;
  }

  /** Gives back the place of a connection admitted under ip. */
  release(ip: string): void {
    this.admitted--;
    if (this.options.maxConnectionsPerIp === undefined) return;
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
  }

  /** Seconds suggested in Retry-After when refusing for capacity. */
  get retryAfter(): string {
    return String(this.options.retryAfter ?? 5);
  }
}
