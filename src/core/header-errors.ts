/**
 * The scanner reports only a close code, to stay small and fast. When it
 * rejects a header, this re-reads the same bytes in the same order to say
 * which rule was broken, as a typed error with a stable code.
 */
import { SCAN_EXPECT_MASKED } from '../native/types.js';
import { CloseCode } from './constants.js';
import { type WsboltError, protocolError } from './errors.js';

export function diagnoseHeader(header: Buffer, closeCode: number, flags: number, maxPayload: number): WsboltError {
  const b0 = header[0] ?? 0;
  const opcode = b0 & 0x0f;
  const control = opcode >= 8;
  const rsv = b0 & 0x70 & (control ? 0x70 : ~flags);
  const proto = (code: Parameters<typeof protocolError>[0], message: string) => protocolError(code, message, closeCode);
  if (!(opcode <= 2 || (opcode >= 8 && opcode <= 10))) return proto('WS_ERR_INVALID_OPCODE', `invalid opcode ${opcode}`);
  if (rsv & 0x40) return proto('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear');
  if (rsv) return proto('WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear');
  if (control && (b0 & 0x80) === 0) return proto('WS_ERR_EXPECTED_FIN', 'a control frame cannot be fragmented');
  const b1 = header[1] ?? 0;
  const masked = (b1 & 0x80) !== 0;
  const expectMasked = (flags & SCAN_EXPECT_MASKED) !== 0;
  if (masked !== expectMasked) {
    return masked
      ? proto('WS_ERR_UNEXPECTED_MASK', 'a server must not mask its frames')
      : proto('WS_ERR_EXPECTED_MASK', 'a client must mask its frames');
  }
  if (control && (b1 & 0x7f) > 125) {
    return proto('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'a control frame payload cannot exceed 125 bytes');
  }
  if ((b1 & 0x7f) === 127 && (header[2] ?? 0) & 0x80) {
    return proto('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'the most significant bit of a 64-bit length must be 0');
  }
  if (closeCode === CloseCode.MESSAGE_TOO_BIG) {
    return proto('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', `the frame exceeds maxPayload (${maxPayload} bytes)`);
  }
  return proto('WS_ERR_INVALID_OPCODE', 'invalid frame header');
}
