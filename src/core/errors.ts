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
  | 'ERR_DEFLATE_NEEDS_DRIVER';

export class WsboltError extends Error {
  readonly code: ProtocolErrorCode | UsageErrorCode | string;
  /** The close code sent to the peer, for protocol errors. */
  readonly closeCode: number | undefined;

  constructor(code: ProtocolErrorCode | UsageErrorCode | string, message: string, closeCode?: number) {
    super(message);
    this.name = closeCode === undefined ? 'WsboltError' : 'WebSocketProtocolError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

export function protocolError(code: ProtocolErrorCode, message: string, closeCode: number): WsboltError {
  return new WsboltError(code, message, closeCode);
}
