/**
 * How each header fault is reported: the scanner (native/reference.ts and
 * native/scan.h, the one home of the §5.2 rules) says which rule a frame broke
 * (out[OUT_FAULT]); this table gives it a stable error code, a message and the
 * close code the connection fails with.
 */
import {
  FAULT_CONTROL_FIN,
  FAULT_CONTROL_LENGTH,
  FAULT_LENGTH_MSB,
  FAULT_MASK_EXPECTED,
  FAULT_MASK_UNEXPECTED,
  FAULT_OPCODE,
  FAULT_RSV1,
  FAULT_RSV23,
  FAULT_TOO_BIG,
} from '../native/types.js';
import { CloseCode } from './constants.js';
import { type ProtocolErrorCode, type WsboltError, protocolError } from './errors.js';

/** What a message may mention: the offending frame's first two header bytes, the reader's limit. */
interface FaultContext {
  bits: number;
  /** The second header byte (mask bit and 7-bit length), when it arrived. */
  lengthByte?: number | undefined;
  maxPayload: number;
}

interface HeaderFault {
  code: ProtocolErrorCode;
  message: (context: FaultContext) => string;
  closeCode: number;
}

const protocolFault = (code: ProtocolErrorCode, message: HeaderFault['message']): HeaderFault => ({ code, message, closeCode: CloseCode.PROTOCOL_ERROR });

export const HEADER_FAULTS: ReadonlyMap<number, HeaderFault> = new Map([
  [FAULT_OPCODE, protocolFault('WS_ERR_INVALID_OPCODE', ({ bits }) => `invalid opcode ${bits & 0x0f}`)],
  [FAULT_RSV1, protocolFault('WS_ERR_UNEXPECTED_RSV_1', () => 'RSV1 must be clear')],
  [FAULT_RSV23, protocolFault('WS_ERR_UNEXPECTED_RSV_2_3', () => 'RSV2 and RSV3 must be clear')],
  [FAULT_CONTROL_FIN, protocolFault('WS_ERR_EXPECTED_FIN', () => 'a control frame cannot be fragmented')],
  [FAULT_MASK_EXPECTED, protocolFault('WS_ERR_EXPECTED_MASK', () => 'a client must mask its frames')],
  [FAULT_MASK_UNEXPECTED, protocolFault('WS_ERR_UNEXPECTED_MASK', () => 'a server must not mask its frames')],
  [FAULT_CONTROL_LENGTH, protocolFault('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', () => 'a control frame payload cannot exceed 125 bytes')],
  [FAULT_LENGTH_MSB, protocolFault('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', () => 'the most significant bit of a 64-bit length must be 0')],
  [
    FAULT_TOO_BIG,
    {
      code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      message: ({ maxPayload }) => `the frame exceeds maxPayload (${maxPayload} bytes)`,
      closeCode: CloseCode.MESSAGE_TOO_BIG,
    },
  ],
]);

/** Kept for a fault code this table does not know, which a scanner within the contract never reports. */
const UNKNOWN_FAULT = protocolFault('WS_ERR_INVALID_OPCODE', () => 'invalid frame header');

export function headerError(fault: number, context: FaultContext): WsboltError {
  const entry = HEADER_FAULTS.get(fault) ?? UNKNOWN_FAULT;
  const detail = { opcode: context.bits & 0x0f, ...(context.lengthByte !== undefined ? { length: context.lengthByte & 0x7f } : {}) };
  return protocolError(entry.code, entry.message(context), entry.closeCode, detail);
}
