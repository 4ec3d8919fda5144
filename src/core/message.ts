/**
 * Assembles data frames into messages under the fragmentation rules of
 * RFC 6455 §5.4, with the limits checked before any bytes are kept and text
 * validated as it arrives (fail fast, §8.1).
 */
import { isValidUtf8 } from '../native/index.js';
import { type Backend, UTF8_ACCEPT, UTF8_REJECT } from '../native/types.js';
import { CloseCode, FIN, OPCODE_CONTINUATION, OPCODE_TEXT, RSV1 } from './constants.js';
import { type WsboltError, protocolError } from './errors.js';
import { utf8Continue } from './utf8.js';

export interface AssemblerLimits {
  maxPayload: number;
  maxFragments: number;
  skipUtf8Validation: boolean;
  /** permessage-deflate is in use: RSV1 marks a compressed message. */
  compression?: boolean;
}

/** end() results besides an error. */
export const MORE_FRAGMENTS = 0;
export const MESSAGE_COMPLETE = 1;

export class MessageAssembler {
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
    public limits: AssemblerLimits,
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

  /**
   * Accepts or rejects a data frame's header before its payload is kept: the
   * continuation rules, maxPayload for the whole message, the fragment cap.
   */
  begin(bits: number, length: number): WsboltError | null {
    const opcode = bits & 0x0f;
    if (opcode === OPCODE_CONTINUATION) {
      if (this.opcode === 0) {
        return protocolError('WS_ERR_INVALID_OPCODE', 'a continuation frame without a message to continue', CloseCode.PROTOCOL_ERROR);
      }
    } else if (this.opcode !== 0) {
      return protocolError('WS_ERR_INVALID_OPCODE', 'a new message began before the previous one was finished', CloseCode.PROTOCOL_ERROR);
    }
    if (this.declared + length > this.limits.maxPayload) {
      return protocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', `the message exceeds maxPayload (${this.limits.maxPayload} bytes)`, CloseCode.MESSAGE_TOO_BIG);
    }
    if (this.fragments + 1 > this.limits.maxFragments) {
      return protocolError('WS_ERR_TOO_MANY_FRAGMENTS', `the message exceeds ${this.limits.maxFragments} frames`, CloseCode.MESSAGE_TOO_BIG);
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
  part(bytes: Buffer): WsboltError | null {
    if (this.opcode !== OPCODE_TEXT || this.limits.skipUtf8Validation || this.compressedMessage) return null;
    this.utf8State = utf8Continue(this.backend, bytes, this.utf8State);
    return this.utf8State === UTF8_REJECT ? invalidUtf8() : null;
  }

  /** The message end() completed (valid until the next end()). */
  data: Buffer = EMPTY;
  isBinary = false;
  /** It is still compressed: inflate it, then check its text. */
  compressed = false;

  /**
   * Adds a frame whose header begin() accepted. Returns MESSAGE_COMPLETE
   * (the message is in data / isBinary), MORE_FRAGMENTS, or an error.
   * `validated` says the payload already went through part().
   */
  end(bits: number, payload: Buffer, validated: boolean): typeof MORE_FRAGMENTS | typeof MESSAGE_COMPLETE | WsboltError {
    const fin = (bits & FIN) !== 0;
    const isText = this.opcode === OPCODE_TEXT;
    const checkText = isText && !this.limits.skipUtf8Validation && !this.compressedMessage;
    if (checkText && !validated) {
      if (fin && this.fragments === 1) {
        if (!isValidUtf8(payload)) return invalidUtf8();
      } else {
        this.utf8State = utf8Continue(this.backend, payload, this.utf8State);
        if (this.utf8State === UTF8_REJECT) return invalidUtf8();
      }
    }
    if (fin && checkText && this.utf8State !== UTF8_ACCEPT) {
      return invalidUtf8(); // the message ends inside a code point
    }

    if (!fin) {
      this.keep(payload);
      return MORE_FRAGMENTS;
    }
    let data: Buffer;
    if (this.first === null && this.joined === null) {
      data = payload; // a single frame: no copy
    } else {
      this.keep(payload);
      data = this.joined ? this.joined.subarray(0, this.filled) : this.first!;
    }
    this.data = data;
    this.isBinary = !isText;
    this.compressed = this.compressedMessage;
    this.reset();
    return MESSAGE_COMPLETE;
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

const EMPTY = Buffer.alloc(0);

function invalidUtf8(): WsboltError {
  return protocolError('WS_ERR_INVALID_UTF8', 'a text message is not valid UTF-8', CloseCode.INVALID_PAYLOAD);
}
