/**
 * Protocol errors as ws reports them: the same class (RangeError, or Error
 * for invalid UTF-8), the same `code` (WS_ERR_*) and a message worded like
 * ws's. The engine's error stays reachable as `cause`, and its close code as
 * `closeCode`.
 */
import type { WsboltError } from '../core/errors.js';

export interface WsProtocolError extends Error {
  code: string;
  /** The close code sent to the peer. */
  closeCode: number | undefined;
}

const PREFIX = 'Invalid WebSocket frame: ';

/** ws's wording, from the error's code and structured detail. */
function wsMessage(error: WsboltError): string {
  const detail = error.detail ?? {};
  switch (error.code) {
    case 'WS_ERR_UNEXPECTED_RSV_1':
      return PREFIX + 'RSV1 must be clear';
    case 'WS_ERR_UNEXPECTED_RSV_2_3':
      return PREFIX + 'RSV2 and RSV3 must be clear';
    case 'WS_ERR_EXPECTED_FIN':
      return PREFIX + 'FIN must be set';
    case 'WS_ERR_EXPECTED_MASK':
      return PREFIX + 'MASK must be set';
    case 'WS_ERR_UNEXPECTED_MASK':
      return PREFIX + 'MASK must be clear';
    case 'WS_ERR_INVALID_UTF8':
      return PREFIX + 'invalid UTF-8 sequence';
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return 'Max payload size exceeded';
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return 'Unsupported WebSocket frame: payload length > 2^53 - 1';
    case 'WS_ERR_TOO_MANY_FRAGMENTS':
      return 'Too many message fragments';
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 'Too many buffered chunks';
    case 'WS_ERR_INVALID_CLOSE_CODE':
      return detail.receivedCloseCode !== undefined ? PREFIX + `invalid status code ${detail.receivedCloseCode}` : error.message;
    case 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH':
      return PREFIX + (detail.length !== undefined ? `invalid payload length ${detail.length}` : 'invalid payload length');
    case 'WS_ERR_INVALID_OPCODE':
      return detail.opcode !== undefined ? PREFIX + `invalid opcode ${detail.opcode}` : error.message;
    default:
      return error.message;
  }
}

/** The ws-style error for an engine protocol error. */
export function toWsError(error: WsboltError | Error): WsProtocolError {
  const engineCode = (error as WsboltError).code;
  // ws passes zlib's own error on (Z_DATA_ERROR and its errno).
  if (engineCode === 'WS_ERR_INVALID_COMPRESSED_DATA' && error.cause instanceof Error) return error.cause as WsProtocolError;
  if (typeof engineCode !== 'string' || !engineCode.startsWith('WS_ERR_')) return error as WsProtocolError;
  const Ctor = engineCode === 'WS_ERR_INVALID_UTF8' ? Error : RangeError;
  const wsError = new Ctor(wsMessage(error as WsboltError), { cause: error }) as WsProtocolError;
  // ws 8.23 names the fragment limit WS_ERR_TOO_MANY_BUFFERED_PARTS.
  wsError.code = engineCode === 'WS_ERR_TOO_MANY_FRAGMENTS' ? 'WS_ERR_TOO_MANY_BUFFERED_PARTS' : engineCode;
  wsError.closeCode = (error as WsboltError).closeCode;
  return wsError;
}
