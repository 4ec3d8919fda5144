/**
 * The seam between the protocol engine and the bytes (issue 16/17): a
 * StreamTransport wraps any Duplex, a NativeTransport is a TCP connection
 * owned by the addon. The lead moves this file when connection.ts adopts it.
 */

export interface TransportListener {
  /** Bytes from the peer. */
  onData(chunk: Buffer): void;
  /** The peer half-closed (FIN). */
  onEnd(): void;
  /** A socket error; onClose follows. */
  onError(error: Error): void;
  /** Gone, exactly once. */
  onClose(): void;
  /** Pending bytes fell to 0 after a write that could not complete at once. */
  onDrain(): void;
}

export interface Transport {
  readonly kind: 'stream' | 'native';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Starts delivering events; bytes already read from the peer (e.g. by Node before adoption) come first. */
  start(listener: TransportListener): void;
  /** One vectored write attempt now; what the kernel does not take is queued. */
  write(buffers: readonly Buffer[]): void;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  readonly pendingBytes: number;
  /** False once end()/destroy() was called or the socket is gone. */
  readonly writable: boolean;
  pause(): void;
  resume(): void;
  /** Sends FIN after the queued bytes. */
  end(): void;
  /** Closes now; onClose follows. */
  destroy(): void;
}
