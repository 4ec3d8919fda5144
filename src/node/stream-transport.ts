/**
 * The transport over any Node Duplex: net.Socket, tls.TLSSocket, an HTTP/2
 * stream, an in-memory pair. Socket-only tuning (Nagle, timeouts) applies
 * where the stream has it. Listeners are shared functions that find the
 * transport on the stream, so a connection costs no closures.
 */
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream';
import { markSharedReadMemory } from './read-memory.js';
import type { Transport, TransportListener } from './transport.js';

/** Runs of frames below this size are copied into one buffer before writing; larger ones go out as they are (writev). */
const COALESCE_BELOW = 16 * 1024;

const kTransport = Symbol('wsbolt.transport');
type OwnedStream = Duplex & { [kTransport]: StreamTransport };

/** The socket-only parts of net.Socket, present on some Duplexes and not others. */
interface SocketLike {
  remoteAddress?: string;
  remotePort?: number;
  setNoDelay?(noDelay: boolean): unknown;
  setTimeout?(timeout: number): unknown;
  session?: { socket?: { remoteAddress?: string; remotePort?: number } };
}

export class StreamTransport implements Transport {
  readonly kind = 'stream' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private listener: TransportListener | null = null;

  constructor(readonly stream: Duplex) {
    const like = stream as Duplex & SocketLike;
    // An HTTP/2 stream's peer is its session's socket.
    const peer = like.remoteAddress !== undefined ? like : (like.session?.socket ?? {});
    this.remoteAddress = peer.remoteAddress ?? '';
    this.remotePort = peer.remotePort ?? 0;
    like.setNoDelay?.(true);
    like.setTimeout?.(0);
  }

  start(listener: TransportListener): void {
    this.listener = listener;
    const stream = this.stream as OwnedStream;
    stream[kTransport] = this;
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    stream.on('drain', onStreamDrain);
    // A stream paused before it was handed over (the upgrade hook pauses it) reads again now.
    stream.resume();
  }

  /** @internal */ get events(): TransportListener {
    return this.listener!;
  }

  write(buffers: readonly Buffer[]): void {
    const stream = this.stream;
    if (buffers.length === 0 || stream.destroyed || !stream.writable) return;
    if (buffers.length === 1) {
      stream.write(buffers[0]!);
      return;
    }
    let total = 0;
    for (const b of buffers) total += b.length;
    if (total < COALESCE_BELOW) {
      stream.write(Buffer.concat(buffers, total));
      return;
    }
    // One writev: runs of small frames copied together, large payloads passed as they are.
    stream.cork();
    let run: Buffer[] = [];
    let runBytes = 0;
    for (const b of buffers) {
      if (b.length >= 1024) {
        if (run.length > 0) stream.write(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
        run = [];
        runBytes = 0;
        stream.write(b);
      } else {
        run.push(b);
        runBytes += b.length;
      }
    }
    if (run.length > 0) stream.write(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    stream.uncork();
  }

  afterWrites(callback: (error: Error | null) => void): void {
    const stream = this.stream;
    // Writes complete in order: an empty one completes after the bytes before it.
    if (stream.writable) stream.write(EMPTY, (error) => callback(error ?? null));
    else finished(stream, { readable: false }, (error) => callback(error ?? null));
  }

  get pendingBytes(): number {
    return this.stream.writableLength;
  }

  get highWaterMark(): number {
    return this.stream.writableHighWaterMark;
  }

  get needsDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  get writable(): boolean {
    return this.stream.writable && !this.stream.destroyed;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  end(): void {
    // Ending twice is harmless but builds an ERR_STREAM_ALREADY_FINISHED (a stack trace per closed connection).
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
  }

  destroy(): void {
    this.stream.destroy();
  }
}

const EMPTY = Buffer.alloc(0);

function onStreamData(this: OwnedStream, chunk: Buffer): void {
  markSharedReadMemory(chunk.buffer);
  this[kTransport].events.onData(chunk);
}
function onStreamEnd(this: OwnedStream): void {
  this[kTransport].events.onEnd();
}
function onStreamError(this: OwnedStream, error: Error): void {
  this[kTransport].events.onError(error);
}
function onStreamClose(this: OwnedStream): void {
  this[kTransport].events.onClose();
}
function onStreamDrain(this: OwnedStream): void {
  this[kTransport].events.onDrain();
}
