/**
 * serve()'s handshake deadline: handshakeTimeout counts from accept, the TLS handshake included, to the 101.
 * Node cannot give that on its own: a TLS server holds a connection that never finishes its handshake for 120 s
 * (tls handshakeTimeout, an idle timer), and headersTimeout starts only once TLS is done.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export class HandshakeDeadlines {
  /** Sockets between accept and their first request, with their accept time. */
  private readonly accepted = new Map<Socket, number>();
  private timer: NodeJS.Timeout | null = null;

  /**
   * enforce: destroy connections past the deadline (TLS). Plain HTTP needs only the accept time: Node's
   * headersTimeout counts from accept there and answers 408 itself.
   */
  constructor(
    private readonly timeout: number,
    private readonly interval: number,
    private readonly enforce: boolean,
  ) {}

  /** For the server's 'connection' event: the raw TCP socket, before any TLS. */
  readonly add = (socket: Socket): void => {
    this.accepted.set(socket, performance.now());
    // One sweep per server (as Node's connectionsCheckingInterval), not a timer per connection.
    if (this.timer === null) {
      this.timer = setInterval(this.sweep, this.interval);
      this.timer.unref();
    }
  };

  /**
   * The socket's first request (an upgrade or plain HTTP) is complete: it leaves the watch. Returns the ms
   * spent since accept (0 for a socket not seen at accept). A TLS socket is found by the TCP socket it wraps.
   */
  take(socket: Duplex): number {
    // _parent: Node's (long-standing, undocumented) link from a server-side TLSSocket to its TCP socket.
    const raw = ((socket as Duplex & { _parent?: Socket })._parent ?? socket) as Socket;
    const at = this.accepted.get(raw);
    if (at === undefined) return 0;
    this.accepted.delete(raw);
    return performance.now() - at;
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (const [socket, at] of this.accepted) {
      if (socket.destroyed) this.accepted.delete(socket);
      else if (now - at >= this.timeout) {
        this.accepted.delete(socket);
        if (this.enforce) socket.destroy();
      }
    }
    if (this.accepted.size === 0) this.stop();
  };

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Server shutdown: a connection without its request has nothing to finish (and one still in TLS would hold the close). */
  destroyAll(): void {
    for (const socket of this.accepted.keys()) socket.destroy();
    this.accepted.clear();
    this.stop();
  }
}
