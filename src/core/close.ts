/** Close frame payloads (RFC 6455 §5.5.1, §7.4). */
import { CloseCode, MAX_CLOSE_REASON } from './constants.js';
import { WsboltError, protocolError } from './errors.js';

/** Codes a peer may put on the wire: 1000-1003, 1007-1014 (IANA), 3000-4999 (libraries and applications). */
export function isValidReceivedCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export interface ParsedClose {
  code: number; // 1005 when the frame carried no code
  reason: string;
}

/**
 * Decodes a received close payload, or returns the protocol error that the
 * connection must be failed with (1-byte payload or a bad code: 1002; a reason
 * that is not UTF-8: 1007).
 */
export function parseClosePayload(payload: Buffer, isUtf8: (b: Uint8Array) => boolean): ParsedClose | WsboltError {
  if (payload.length === 0) return { code: CloseCode.NO_STATUS, reason: '' };
  if (payload.length === 1) {
    return protocolError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'a close frame payload cannot be 1 byte long', CloseCode.PROTOCOL_ERROR, { length: 1 });
  }
  const code = payload.readUInt16BE(0);
  if (!isValidReceivedCloseCode(code)) {
    return protocolError('WS_ERR_INVALID_CLOSE_CODE', `invalid close code ${code}`, CloseCode.PROTOCOL_ERROR, { receivedCloseCode: code });
  }
  const reasonBytes = payload.subarray(2);
  if (!isUtf8(reasonBytes)) {
    return protocolError('WS_ERR_INVALID_UTF8', 'the close reason is not valid UTF-8', CloseCode.INVALID_PAYLOAD);
  }
  return { code, reason: reasonBytes.toString('utf8') };
}

/** Codes an application may send: the receivable ones except those only a library should use. */
export function isValidSendCloseCode(code: number): boolean {
  return Number.isInteger(code) && isValidReceivedCloseCode(code);
}

/**
 * Builds the payload of a close frame to send. No code means an empty payload
 * (the peer sees 1005); a reason needs a code. Throws on a code that may not be
 * sent or a reason longer than 123 bytes.
 */
export function buildClosePayload(code?: number, reason?: string | Buffer): Buffer {
  if (code === undefined) {
    if (reason !== undefined && reason.length > 0) {
      throw new WsboltError('ERR_INVALID_CLOSE_CODE', 'a close reason needs a close code');
    }
    return Buffer.alloc(0);
  }
  if (!isValidSendCloseCode(code)) throw new WsboltError('ERR_INVALID_CLOSE_CODE', `close code ${code} may not be sent`);
  const reasonLength = reason === undefined ? 0 : typeof reason === 'string' ? Buffer.byteLength(reason) : reason.length;
  if (reasonLength > MAX_CLOSE_REASON) {
    throw new WsboltError('ERR_CLOSE_REASON_TOO_LONG', `the close reason is ${reasonLength} bytes; at most ${MAX_CLOSE_REASON} fit`);
  }
  const payload = Buffer.allocUnsafe(2 + reasonLength);
  payload.writeUInt16BE(code, 0);
  if (typeof reason === 'string') payload.write(reason, 2);
  else if (reason !== undefined) payload.set(reason, 2);
  return payload;
}
