/**
 * Errors with a stable `code` (ws's WS_ERR_* names where ws has one) and, for
 * protocol failures, the close code the connection was failed with.
 */
export type ProtocolErrorCode =
  | 'WS_ERR_INVALID_OPCODE'
  | 'WS_ERR_UNEXPECTED_RSV_1'
  | 'WS_ERR_UNEXPECTED_RSV_2_3'
  | 'WS_ERR_EXPECTED_FIN'
  | 'WS_ERR_EXPECTED_MASK'
  | 'WS_ERR_UNEXPECTED_MASK'
  | 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'
  | 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  | 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
  | 'WS_ERR_TOO_MANY_FRAGMENTS'
  | 'WS_ERR_TOO_MANY_BUFFERED_PARTS'
  | 'WS_ERR_INVALID_UTF8'
  | 'WS_ERR_INVALID_COMPRESSED_DATA'
  | 'WS_ERR_COMPRESSION_FAILED'
  | 'WS_ERR_OUT_OF_MEMORY'
  | 'WS_ERR_INVALID_CLOSE_CODE';

export type UsageErrorCode =
  | 'ERR_INVALID_CLOSE_CODE'
  | 'ERR_CLOSE_REASON_TOO_LONG'
  | 'ERR_CONTROL_PAYLOAD_TOO_LONG'
  | 'ERR_NOT_OPEN'
  | 'ERR_CLOSED_WHILE_COMPRESSING'
  | 'ERR_DEFLATE_NEEDS_DRIVER'
  | 'ERR_HANDLER_FAILED'
  | 'ERR_SEND_BUFFER_DETACHED';

/** What a protocol error is about, for code that words it differently (wsbolt/ws words it as ws does). */
export interface ProtocolErrorDetail {
  /** The offending frame's opcode. */
  opcode?: number;
  /** The close code the peer sent, when that code is the fault. */
  receivedCloseCode?: number;
  /** The offending payload length (a control frame's 7-bit length, or a close payload's). */
  length?: number;
}

export class WsboltError extends Error {
  readonly code: ProtocolErrorCode | UsageErrorCode | string;
  /** The close code sent to the peer, for protocol errors. */
  readonly closeCode: number | undefined;
  readonly detail: ProtocolErrorDetail | undefined;

  constructor(
    code: ProtocolErrorCode | UsageErrorCode | string,
    message: string,
    closeCode?: number,
    options?: { cause?: unknown; detail?: ProtocolErrorDetail },
  ) {
    super(message, options);
    this.name = closeCode === undefined ? 'WsboltError' : 'WebSocketProtocolError';
    this.code = code;
    this.closeCode = closeCode;
    this.detail = options?.detail;
  }
}

export function protocolError(code: ProtocolErrorCode, message: string, closeCode: number, detail?: ProtocolErrorDetail): WsboltError {
  return new WsboltError(code, message, closeCode, detail ? { detail } : undefined);
}

/** The user callbacks a HandlerError can come from. */
export type CallbackName = 'upgrade' | 'protocols' | 'open' | 'message' | 'drain' | 'ping' | 'pong' | 'close' | 'error' | 'reconnecting' | 'giveUp';

/**
 * A user callback threw, or returned a thenable that rejected: code
 * 'ERR_HANDLER_FAILED', `cause` the value thrown, `callback` which one. Its
 * connection was closed with 1011 (an upgrade hook: answered 500).
 */
export class HandlerError extends WsboltError {
  constructor(
    readonly callback: CallbackName,
    cause: unknown,
    rejected = false,
  ) {
    super('ERR_HANDLER_FAILED', `the ${callback} callback ${rejected ? 'rejected' : 'threw'}: ${describeValue(cause)}`, undefined, { cause });
    this.name = 'HandlerError';
  }
}

/** What user code threw or rejected with, as an Error: itself when it is one, else one that describes it. Never throws. */
export function asError(value: unknown): Error {
  try {
    if (value instanceof Error) return value;
  } catch {
    // a revoked Proxy: described below
  }
  return new Error(describeValue(value));
}

/** Never throws: a thrown value may be a revoked Proxy (instanceof throws) or have hostile getters. */
function describeValue(value: unknown): string {
  try {
    return value instanceof Error ? String(value.message) : String(value);
  } catch {
    return typeof value;
  }
}
