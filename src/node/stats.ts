/**
 * Counters for server.stats() and clientStats(): plain number fields that the connection engine increments (no
 * map and no allocation on the message path; the close codes are counted once per connection), read as a snapshot.
 * Every connection of a server shares its server's counters; every connection made by connect() (reconnecting
 * included) shares the process-wide client counters.
 */

/** What a set of connections did, since the server (or, for clientStats(), the process) started. */
export interface ConnectionStats {
  /** Connections open now. */
  connectionsOpen: number;
  /** Connections opened in all (the server: upgrades accepted). */
  connectionsTotal: number;
  /** Data messages received (delivered to message()) and sent (send() and publish() that queued one). */
  messagesIn: number;
  messagesOut: number;
  /** Bytes on the wire after the handshake: every frame, headers, masks and control frames included. */
  bytesIn: number;
  bytesOut: number;
  /** permessage-deflate: compressed messages, their payload on the wire and their length uncompressed. */
  compressedMessagesIn: number;
  compressedBytesIn: number;
  inflatedBytesIn: number;
  compressedMessagesOut: number;
  compressedBytesOut: number;
  uncompressedBytesOut: number;
  /** Sends that found the socket backed up (SendStatus.BACKPRESSURE), once per episode: until drain. */
  backpressureEvents: number;
  /** Sends, pings and pongs refused (SendStatus.DROPPED): the connection was closing, or over maxBackpressure. */
  droppedSends: number;
  /** Close codes of the connections that ended (the code passed to close()), code → count. */
  closeCodes: Record<number, number>;
}

/**
 * Why a server refused an upgrade: 'invalid_request' (RFC 6455 §4.2.1: 400, 405, 426), 'too_many_connections'
 * (maxConnections, maxConnectionsPerIp: 503), 'shutting_down' (503), 'not_found' (404), 'origin' (403),
 * 'rejected' (the upgrade hook's reject()), 'hook_failed' (the hook or protocols function threw: 500),
 * 'hook_timeout' (503), 'protocol' (the hook chose a subprotocol the client did not offer: 500).
 */
export type RefusalReason =
  'invalid_request' | 'too_many_connections' | 'shutting_down' | 'not_found' | 'origin' | 'rejected' | 'hook_failed' | 'hook_timeout' | 'protocol';

export interface ServerStats extends ConnectionStats {
  /** Upgrades refused, by reason. */
  refusals: Partial<Record<RefusalReason, number>>;
}

/** The live counters behind a stats() snapshot. */
export class Counters {
  connectionsOpen = 0;
  connectionsTotal = 0;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  compressedMessagesIn = 0;
  compressedBytesIn = 0;
  inflatedBytesIn = 0;
  compressedMessagesOut = 0;
  compressedBytesOut = 0;
  uncompressedBytesOut = 0;
  backpressureEvents = 0;
  droppedSends = 0;
  private readonly closeCodes = new Map<number, number>();

  /** A connection ended with code (once per connection, not on the message path). */
  closed(code: number): void {
    this.connectionsOpen--;
    this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
  }

  snapshot(): ConnectionStats {
    return {
      connectionsOpen: this.connectionsOpen,
      connectionsTotal: this.connectionsTotal,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      compressedMessagesIn: this.compressedMessagesIn,
      compressedBytesIn: this.compressedBytesIn,
      inflatedBytesIn: this.inflatedBytesIn,
      compressedMessagesOut: this.compressedMessagesOut,
      compressedBytesOut: this.compressedBytesOut,
      uncompressedBytesOut: this.uncompressedBytesOut,
      backpressureEvents: this.backpressureEvents,
      droppedSends: this.droppedSends,
      closeCodes: Object.fromEntries(this.closeCodes),
    };
  }
}

/** A server's counters: its connections' and its refusals. */
export class ServerCounters extends Counters {
  private readonly refusals = new Map<RefusalReason, number>();

  refused(reason: RefusalReason): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  override snapshot(): ServerStats {
    return { ...super.snapshot(), refusals: Object.fromEntries(this.refusals) };
  }
}

/** Shared by every connection connect() makes in this process. */
export const clientCounters = new Counters();

/** What every connection made by connect() (and reconnecting()) in this process did so far. */
export function clientStats(): ConnectionStats {
  return clientCounters.snapshot();
}
