/**
 * The contract shared by the C++ addon (native/) and the TypeScript reference
 * kernels (reference.ts). Both must give bit-identical results for every
 * input; the differential tests in test/native hold them to it. The constants
 * here are the one source of native/contract.h (scripts/gen-contract.mjs).
 */

/** Flags passed to scanFrames. */
export const SCAN_EXPECT_MASKED = 0x01; // server role: every frame must carry a mask
/**
 * RSV bits an extension has claimed, in their header-byte positions
 * (0x40 = RSV1, 0x20 = RSV2, 0x10 = RSV3). A frame with an unclaimed RSV bit,
 * or any RSV bit on a control frame, fails with 1002.
 */
export const SCAN_RSV_MASK = 0x70;

/** scanFrames status, written to out[OUT_STATUS]. */
export const SCAN_DONE = 0; // every byte from offset to the end was a complete frame
export const SCAN_INCOMPLETE = 1; // the frame at out[OUT_STOP] is not complete yet
export const SCAN_FULL = 2; // the record array is full; call again from out[OUT_STOP]
export const SCAN_ERROR = 3; // the frame at out[OUT_STOP] breaks a rule; close code in out[OUT_CODE], the rule in out[OUT_FAULT]

/** Layout of the Float64Array that scanFrames writes. */
export const OUT_STATUS = 0;
export const OUT_STOP = 1; // offset of the first byte not consumed
export const OUT_CODE = 2; // close code when SCAN_ERROR, else 0
export const OUT_HEADER_LENGTH = 3; // SCAN_INCOMPLETE: header length if the header is complete, else 0
export const OUT_PAYLOAD_LENGTH = 4; // SCAN_INCOMPLETE with a complete header: declared payload length
export const OUT_BITS = 5; // SCAN_INCOMPLETE with a complete header: first header byte (FIN|RSV|opcode)
export const OUT_MASK_KEY = 6; // SCAN_INCOMPLETE with a complete header: masking key as a big-endian uint32 (0 if unmasked)
export const OUT_FAULT = 7; // which rule failed (FAULT_*) when SCAN_ERROR, else FAULT_NONE
export const OUT_RECORDS = 8; // frame records start here
export const RECORD_SIZE = 3; // [first header byte, payload offset, payload length]

/** The close code for a rejected frame, written to out[OUT_CODE]. */
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_MESSAGE_TOO_BIG = 1009;

/**
 * Which header rule of RFC 6455 §5.2 a rejected frame broke, written to
 * out[OUT_FAULT], so that the error can name it without re-reading the bytes
 * (core/header-errors.ts words each one). Listed in the order the scanner
 * checks them: a frame that breaks several reports the first.
 */
export const FAULT_NONE = 0;
export const FAULT_OPCODE = 1; // an opcode RFC 6455 does not define
export const FAULT_RSV1 = 2; // RSV1 set but not claimed (always unclaimed on a control frame)
export const FAULT_RSV23 = 3; // RSV2 or RSV3 set but not claimed, RSV1 clear or claimed
export const FAULT_CONTROL_FIN = 4; // a fragmented control frame
export const FAULT_MASK_EXPECTED = 5; // server role: an unmasked frame
export const FAULT_MASK_UNEXPECTED = 6; // client role: a masked frame
export const FAULT_CONTROL_LENGTH = 7; // a control frame declaring more than 125 bytes
export const FAULT_LENGTH_MSB = 8; // a 64-bit length with its most significant bit set
export const FAULT_TOO_BIG = 9; // a declared length above maxPayload (1009; every other fault is 1002)

/** Incremental UTF-8 validator states. Anything above UTF8_REJECT is "inside a code point". */
export const UTF8_ACCEPT = 0;
export const UTF8_REJECT = 1;
/** States are 0 .. UTF8_STATES - 1; utf8Step rejects any other. */
export const UTF8_STATES = 9;

/** transport.publish() copies its frame once per connection: it refuses a larger one (TypeError). */
export const PUBLISH_MAX_BYTES = 65536; // 64 KiB

/**
 * Every function refuses, before touching any buffer, what is not a
 * Uint8Array (out: a Float64Array) or a number (phase and state may be left
 * out): a TypeError with code ERR_INVALID_ARG_TYPE. Nothing is coerced, so no
 * user code runs during a call. Out-of-range values are a RangeError with
 * code ERR_OUT_OF_RANGE (args.ts; the addon throws the same).
 */
export interface Backend {
  readonly name: 'native' | 'js';
  /**
   * output[offset + i] = source[i] ^ key[i & 3] for 0 <= i < length.
   * Reads exactly `length` bytes of source and writes exactly `length` bytes of output.
   */
  mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  /**
   * In place: buffer[i] ^= key[(phase + i) & 3]. Returns the phase after the
   * last byte, (phase + buffer.length) & 3, so a payload that arrives in parts
   * can be unmasked part by part.
   */
  unmask(buffer: Uint8Array, key: Uint8Array, phase?: number): number;
  /**
   * Walks every complete frame of chunk[offset, chunk.length): validates each
   * header, unmasks each payload in place, and writes one record per frame
   * into out (see OUT_* and RECORD_SIZE). Returns the number of records.
   * Stops at the first incomplete frame, a rule violation, or a full record
   * array. Header rules are checked as soon as the bytes that carry them have
   * arrived, even if the rest of the frame has not (fail fast).
   * maxPayload is the largest declared payload length accepted (1009 above it).
   */
  scanFrames(chunk: Uint8Array, offset: number, out: Float64Array, flags: number, maxPayload: number): number;
  /**
   * Feeds bytes to an incremental UTF-8 validator. Returns the new state:
   * UTF8_ACCEPT at a code point boundary, UTF8_REJECT at the first byte that
   * cannot be part of valid UTF-8 (overlongs, surrogates and code points above
   * U+10FFFF included; REJECT is sticky), or a value > 1 inside a code point.
   */
  utf8Step(buffer: Uint8Array, state: number): number;
}
