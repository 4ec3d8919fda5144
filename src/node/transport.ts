/**
 * The seam between the connection engine and the byte stream under it. The
 * engine (connection.ts) speaks only to this interface: chunks in, buffers
 * out, flow control, and the end of the stream. StreamTransport carries it
 * over any Node Duplex; a native transport can take a plain TCP socket over
 * without the engine noticing.
 */

import type { DirectTarget } from '../core/frame-reader.js';

/** Where a transport that reads into memory of the reader's choice asks for it (the core: Protocol.directTarget). */
export interface DirectReadSource {
  directTarget(minimum: number): DirectTarget | null;
}

/** What a transport reports to its connection. */
export interface TransportListener {
  /** Bytes from the peer; the connection owns the chunk from now on. */
  onData(chunk: Buffer): void;
  /** Bytes the transport wrote, unmasked, into the buffer readInto() got from the source (only after readInto()). */
  onFilled?(length: number): void;
  /** The peer ended its side (TCP FIN): nothing more will arrive. */
  onEnd(): void;
  /** The stream failed; onClose follows. */
  onError(error: Error): void;
  /** The stream is gone: called exactly once, last. */
  onClose(): void;
  /** The bytes waiting for the kernel fell back below the high-water mark after needsDrain was true. */
  onDrain(): void;
}

export interface Transport {
  /** Which implementation carries the connection. */
  readonly kind: 'stream' | 'native';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Starts reporting to listener. */
  start(listener: TransportListener): void;
  /** Hands buffers to the stream, in order, as one write where the stream allows it. */
  write(buffers: readonly Buffer[]): void;
  /** Calls back once everything written so far has been handed to the kernel (with an error if the stream ended first). */
  afterWrites(callback: (error: Error | null) => void): void;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  readonly pendingBytes: number;
  /** Above this many pending bytes a writer should wait for onDrain. */
  readonly highWaterMark: number;
  /** True while onDrain is owed: the last write left more than highWaterMark pending. */
  readonly needsDrain: boolean;
  /** False once the writable side ended or the stream is gone. */
  readonly writable: boolean;
  /** True once destroy() was called or the stream closed. */
  readonly destroyed: boolean;
  /**
   * Called after input: a transport that can read straight into a frame's
   * buffer asks source for one (a frame whose payload has not arrived yet)
   * and reports what it read there with onFilled. Optional: a stream cannot.
   */
  readInto?(source: DirectReadSource): void;
  /**
   * The engine's answer, kept current, to "may a published frame be appended to this connection's output without
   * asking?" (WebSocket.readyForDirectFrames): the native transport mirrors it for the addon's fan-out. Optional.
   */
  setPublishReady?(ready: boolean): void;
  /** Stops reading from the peer (bytes pile up in the kernel, then the peer's sends block). */
  pause(): void;
  resume(): void;
  /** Ends the writable side after the pending bytes (TCP FIN). Harmless when already ended. */
  end(): void;
  /** Drops the connection now; onClose follows. */
  destroy(): void;
}
