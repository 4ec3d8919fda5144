/**
 * What a client sends between its upgrade request and the 101, while an async upgrade hook runs. RFC 6455 §4.1
 * has it wait for the 101, so the pipeline keeps only a bounded amount for the connection and notices a client
 * that leaves (which must never open).
 */
import type { Duplex } from 'node:stream';

/**
 * What a client may pipeline after its upgrade request: a few first messages. More is not a client that needs
 * serving quickly but one that costs memory while the hook runs.
 */
const EARLY_DATA_LIMIT = 64 * 1024;

/**
 * Watches a socket while an async upgrade hook runs: a client that leaves must never open, and frames it sends
 * early are kept for the connection, up to EARLY_DATA_LIMIT (plus the read that crossed it). Past that the socket
 * is paused, so TCP holds the client back until the hook settles. A paused socket cannot see a FIN or a reset:
 * such a client is noticed only once the connection reads again, after open.
 */
export class EarlyData {
  gone = false;
  readonly kept: Buffer[] = [];
  private bytes = 0;
  private paused = false;

  constructor(private readonly socket: Duplex) {
    socket.on('end', this.onGone);
    socket.on('close', this.onGone);
    socket.on('data', this.onData);
  }

  private readonly onGone = (): void => {
    this.gone = true;
  };

  private readonly onData = (chunk: Buffer): void => {
    this.kept.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= EARLY_DATA_LIMIT && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  };

  /**
   * Stops watching. A paused socket reads again: an accepted connection attaches its own 'data' listener in the same
   * tick (resume() only flows on the next one), and a refused one must read to see the client's FIN, dropping the rest.
   */
  stop(): void {
    this.socket.removeListener('end', this.onGone);
    this.socket.removeListener('close', this.onGone);
    this.socket.removeListener('data', this.onData);
    if (this.paused) this.socket.resume();
  }
}
