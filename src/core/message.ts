/**
 * Assembles data frames into messages under the fragmentation rules of
 * RFC 6455 §5.4, with the limits checked before any bytes are kept and text
 * validated as it arrives (fail fast, §8.1). It is the frame reader's data
 * sink: frames come straight from the reader, and whole messages (or the
 * rule they broke) go to the Protocol, which inflates and delivers them.
 */
import { Buffer } from 'node:buffer';
import { isValidUtf8 } from '../native/index.js';
import { type Backend, UTF8_ACCEPT, UTF8_REJECT } from '../native/types.js';
import { CloseCode, FIN, OPCODE_CONTINUATION, OPCODE_TEXT, RSV1 } from './constants.js';
import { type WsboltError, protocolError } from './errors.js';
import type { DataFrameSink } from './frame-reader.js';
import { utf8Continue } from './utf8.js';

export interface AssemblerLimits {
  maxPayload: number;
  maxFragments: number;
  /** The close code for a message over maxFragments (1009 by default; ws uses 1008). */
  fragmentsCloseCode?: number;
  skipUtf8Validation: boolean;
  /** permessage-deflate is in use: RSV1 marks a compressed message. */
  compression?: boolean;
}

/** Where whole messages and broken rules go (the Protocol). */
export interface MessageSink {
  /** A whole message; `compressed`: it had RSV1 and still needs inflating (then its text checking). False stops or pauses reading. */
  onMessageAssembled(data: Buffer, isBinary: boolean, compressed: boolean): boolean;
  /** A frame broke a fragmentation rule, a limit or UTF-8: the connection fails. */
  onAssemblyError(error: WsboltError): void;
}

export class MessageAssembler implements DataFrameSink {
  /** OPCODE_TEXT or OPCODE_BINARY while a message is open, else 0. */
  private opcode = 0;
  private fragments = 0;
  /** Bytes accepted for the open message, including a frame still arriving. */
  private declared = 0;
  private utf8State = UTF8_ACCEPT;
  /** The open message had RSV1 on its first frame (permessage-deflate): checked after inflating. */
  private compressedMessage = false;
  /** The first fragment, kept as a view until a second one arrives. */
  private first: Buffer | null = null;
  /** Grows by doubling (never beyond maxPayload) once a message has two fragments. */
  private joined: Buffer | null = null;
  private filled = 0;

  constructor(
    private readonly backend: Backend,
    private readonly limits: AssemblerLimits,
    private readonly sink: MessageSink,
  ) {}

  get inMessage(): boolean {
    return this.opcode !== 0;
  }

  /**
   * Bytes of an unfinished message held so far. The joined buffer grows by
   * doubling (capped at maxPayload), so its allocation is at most twice this.
   */
  get bufferedBytes(): number {
    return this.joined ? this.filled : (this.first?.length ?? 0);
  }

  // ---- DataFrameSink ---------------------------------------------------------

  onFrameStart(bits: number, length: number): boolean {
    const error = this.begin(bits, length);
    return error === null || this.failed(error);
  }

  onFramePart(_bits: number, part: Buffer): boolean {
    const error = this.part(part);
    return error === null || this.failed(error);
  }

  onFrame(bits: number, payload: Buffer, streamed: boolean): boolean {
    const error = streamed ? null : this.begin(bits, payload.length);
    return error === null ? this.end(bits, payload, streamed) : this.failed(error);
  }

  private failed(error: WsboltError): false {
    this.sink.onAssemblyError(error);
    return false;
  }

  /**
   * Accepts or rejects a data frame's header before its payload is kept: the
   * continuation rules, maxPayload for the whole message, the fragment cap.
   */
  private begin(bits: number, length: number): WsboltError | null {
    const opcode = bits & 0x0f;
    if (opcode === OPCODE_CONTINUATION) {
      if (this.opcode === 0) {
        return protocolError('WS_ERR_INVALID_OPCODE', 'a continuation frame without a message to continue', CloseCode.PROTOCOL_ERROR, { opcode: 0 });
      }
    } else if (this.opcode !== 0) {
      return protocolError('WS_ERR_INVALID_OPCODE', 'a new message began before the previous one was finished', CloseCode.PROTOCOL_ERROR, { opcode });
    }
    if (this.declared + length > this.limits.maxPayload) {
      return protocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', `the message exceeds maxPayload (${this.limits.maxPayload} bytes)`, CloseCode.MESSAGE_TOO_BIG);
    }
    if (this.fragments + 1 > this.limits.maxFragments) {
      return protocolError(
        'WS_ERR_TOO_MANY_FRAGMENTS',
        `the message exceeds ${this.limits.maxFragments} frames`,
        this.limits.fragmentsCloseCode ?? CloseCode.MESSAGE_TOO_BIG,
      );
    }
    if (opcode !== OPCODE_CONTINUATION) {
      this.opcode = opcode;
      this.utf8State = UTF8_ACCEPT;
      this.compressedMessage = this.limits.compression === true && (bits & RSV1) !== 0;
    } else if (this.limits.compression === true && (bits & RSV1) !== 0) {
      // RFC 7692 §6.1: only the first frame of a message carries RSV1.
      return protocolError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 on a continuation frame', CloseCode.PROTOCOL_ERROR);
    }
    this.fragments++;
    this.declared += length;
    return null;
  }

  /** Validates newly arrived text bytes of a frame still arriving. */
  private part(bytes: Buffer): WsboltError | null {
    if (this.opcode !== OPCODE_TEXT || this.limits.skipUtf8Validation || this.compressedMessage) return null;
    this.utf8State = utf8Continue(this.backend, bytes, this.utf8State);
    return this.utf8State === UTF8_REJECT ? invalidUtf8() : null;
  }

  /**
   * Adds a frame whose header begin() accepted; the last one hands the
   * message to the sink. `validated` says the payload already went through
   * part(). Returns false when reading stops or pauses.
   */
  private end(bits: number, payload: Buffer, validated: boolean): boolean {
    const fin = (bits & FIN) !== 0;
    const isText = this.opcode === OPCODE_TEXT;
    const checkText = isText && !this.limits.skipUtf8Validation && !this.compressedMessage;
    if (checkText && !validated) {
      if (fin && this.fragments === 1) {
        if (!isValidUtf8(payload)) return this.failed(invalidUtf8());
      } else {
        this.utf8State = utf8Continue(this.backend, payload, this.utf8State);
        if (this.utf8State === UTF8_REJECT) return this.failed(invalidUtf8());
      }
    }
    if (fin && checkText && this.utf8State !== UTF8_ACCEPT) {
      return this.failed(invalidUtf8()); // the message ends inside a code point
    }

    if (!fin) {
      this.keep(payload);
      return true;
    }
    let data: Buffer;
    if (this.first === null && this.joined === null) {
      data = payload; // a single frame: no copy
    } else {
      this.keep(payload);
      data = this.joined ? this.joined.subarray(0, this.filled) : this.first!;
    }
    const compressed = this.compressedMessage;
    this.reset();
    return this.sink.onMessageAssembled(data, !isText, compressed);
  }

  reset(): void {
    this.opcode = 0;
    this.fragments = 0;
    this.declared = 0;
    this.utf8State = UTF8_ACCEPT;
    this.compressedMessage = false;
    this.first = null;
    this.joined = null;
    this.filled = 0;
  }

  private keep(payload: Buffer): void {
    if (payload.length === 0) return;
    if (this.first === null && this.joined === null) {
      this.first = payload;
      return;
    }
    const needed = this.filled + (this.joined ? 0 : this.first!.length) + payload.length;
    if (this.joined === null || needed > this.joined.length) {
      const capacity = Math.min(Math.max(needed, (this.joined?.length ?? 0) * 2, 1024), this.limits.maxPayload);
      const grown = Buffer.allocUnsafe(Math.max(capacity, needed));
      if (this.joined) {
        grown.set(this.joined.subarray(0, this.filled), 0);
      } else {
        grown.set(this.first!, 0);
        this.filled = this.first!.length;
        this.first = null;
      }
      this.joined = grown;
    }
    this.joined.set(payload, this.filled);
    this.filled += payload.length;
  }
}

function invalidUtf8(): WsboltError {
  return protocolError('WS_ERR_INVALID_UTF8', 'a text message is not valid UTF-8', CloseCode.INVALID_PAYLOAD);
}
