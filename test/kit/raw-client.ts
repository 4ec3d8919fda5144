/**
 * The raw client: a bare TCP socket that speaks the protocol by hand, for
 * testing a server. It sends the handshake itself, parses the server's
 * frames (FrameParser, written independently of src/) into `frames`, and
 * writes masked frames. It answers nothing on its own (no pong, no close
 * reply), so a test sees and controls every byte.
 */
import * as net from 'node:net';
import { type HttpAnswer, handshakeRequest, parseHead } from './http.js';
import { HOST } from './net.js';
import { Queue, withTimeout } from './wait.js';
import { type FrameSpec, FrameParser, type ParsedFrame, frame } from './wire.js';

export interface RawClientOptions {
  /** Payloads longer than this are counted (bytesReceived) but not kept: for floods. */
  keepPayloadUpTo?: number;
}

export interface UpgradeOptions extends RawClientOptions {
  path?: string;
  /** Changes to the handshake request (see handshakeRequest; null leaves a header out). */
  headers?: Record<string, string | null>;
  /** Bytes sent in the same write as the request. */
  after?: Buffer;
}

export class RawClient {
  /** The server's frames, in order (frames.items holds every one). */
  readonly frames = new Queue<ParsedFrame>('frame');
  /** Resolves when the server ends its side (FIN) or the socket closes. */
  readonly ended: Promise<void>;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  /** The server's answer to the handshake, once its head is in. */
  answer: HttpAnswer | null = null;
  /** The answer's head as text, without the blank line ('' before it is in). */
  head = '';
  isEnded = false;
  isClosed = false;
  private pending: Buffer = Buffer.alloc(0);
  private readonly parser: FrameParser;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: net.Socket,
    options: RawClientOptions = {},
  ) {
    this.parser = new FrameParser((f) => this.frames.push(f), options.keepPayloadUpTo);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.once('end', () => {
      this.isEnded = true;
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.isEnded = true;
        this.wake();
        resolve();
      }),
    );
    this.ended = Promise.race([ended, this.closed]);
  }

  /** Connects without sending anything: the test writes the request (or garbage) itself. */
  static async open(port: number, options: RawClientOptions = {}): Promise<RawClient> {
    const socket = net.connect({ host: HOST, port });
    const raw = new RawClient(socket, options);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      }),
      10_000,
      'raw connect',
    );
    return raw;
  }

  /** Connects and completes the handshake (throws unless the answer is 101). */
  static async connect(port: number, options: UpgradeOptions = {}): Promise<RawClient> {
    const raw = await RawClient.open(port, options);
    const request = Buffer.from(handshakeRequest(options.path ?? '/', options.headers ?? {}), 'latin1');
    raw.socket.write(options.after ? Buffer.concat([request, options.after]) : request);
    await raw.waitFor(() => raw.answer !== null, 10_000, 'handshake answer');
    if (raw.answer!.status !== 101) {
      raw.destroy();
      throw new Error(`handshake answered ${raw.answer!.status}: ${raw.head}`);
    }
    return raw;
  }

  private onData(chunk: Buffer): void {
    if (this.answer) this.parser.push(chunk);
    else {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      const end = this.pending.indexOf('\r\n\r\n');
      if (end !== -1) {
        this.head = this.pending.subarray(0, end).toString('latin1');
        const rest = Buffer.from(this.pending.subarray(end + 4));
        try {
          this.answer = parseHead(this.pending)!.answer;
        } catch {
          // not HTTP: status 0, the head kept as text
          this.answer = { statusLine: this.head.split('\r\n')[0]!, status: 0, statusText: '', headers: {}, body: Buffer.alloc(0), raw: rest };
        }
        this.pending = Buffer.alloc(0);
        this.parser.push(rest);
      }
    }
    this.wake();
  }

  /** The status of the answer (0 before it is in). */
  get status(): number {
    return this.answer?.status ?? 0;
  }

  get headReceived(): boolean {
    return this.answer !== null;
  }

  /** Payload bytes of every frame received (kept or not). */
  get bytesReceived(): number {
    return this.parser.payloadBytes;
  }

  private wake(): void {
    const list = this.waiters;
    this.waiters = [];
    for (const w of list) w();
  }

  /** Resolves once cond() holds, re-checked on every chunk received and at end and close; bounded by ms. */
  waitFor(cond: () => boolean, ms: number, label: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (cond()) resolve();
          else if (this.isClosed) reject(new Error(`${label}: the socket closed first`));
          else this.waiters.push(check);
        };
        this.waiters.push(check);
      }),
      ms,
      label,
    );
  }

  /** The first close frame's code (1005 for an empty one), waiting at most ms. */
  async closeCode(ms = 5000): Promise<number> {
    await this.waitFor(() => this.frames.items.some((f) => f.opcode === 8), ms, 'close frame');
    const f = this.frames.items.find((x) => x.opcode === 8)!;
    return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
  }

  /** The next frame of the given opcode, skipping (and returning) the others seen before it. */
  async nextOf(opcode: number, ms = 5000): Promise<{ frame: ParsedFrame; skipped: ParsedFrame[] }> {
    const skipped: ParsedFrame[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.frames.next(Math.max(1, deadline - Date.now()), `frame with opcode ${opcode}`);
      if (f.opcode === opcode) return { frame: f, skipped };
      skipped.push(f);
    }
  }

  write(bytes: Buffer | string): boolean {
    return this.socket.write(bytes);
  }

  /** Writes a frame, masked unless spec.mask is false. Returns socket.write's result. */
  send(spec: FrameSpec): boolean {
    return this.socket.write(frame({ mask: true, ...spec }));
  }

  sendText(text: string): boolean {
    return this.send({ opcode: 1, payload: text });
  }

  sendClose(code?: number, reason = ''): boolean {
    const payload = code === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);
    return this.send({ opcode: 8, payload });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A RawClient that completed the handshake, destroyed after the test. */
export async function rawConnect(defer: (fn: () => unknown) => void, port: number, options?: UpgradeOptions): Promise<RawClient> {
  const raw = await RawClient.connect(port, options);
  defer(() => raw.destroy());
  return raw;
}
