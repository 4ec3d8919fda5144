// The frame scanner: scanFrames() of src/native/reference.ts, rule for rule and in the
// same order, so both report the same status, offsets, close codes and faults
// for any byte stream (including where a partial header fails fast). Its
// constants come from contract.h, generated from src/native/types.ts. Works on
// byte layouts only: no allocation, no calls into JS.
#pragma once

#include <cfloat>
#include <cstddef>
#include <cstdint>

#include "contract.h"
#include "mask.h"

namespace wsbolt {
namespace scan {

using namespace contract;

struct Input {
  uint8_t* chunk;
  size_t end;           // chunk length
  size_t start;         // first byte to scan (start >= end: nothing to scan)
  double start_value;   // the offset exactly as JS passed it (-0, NaN, beyond the end), reported when p == start
  double* out;
  size_t out_length;    // in doubles
  int32_t flags;        // ToInt32(flags), as `flags & x` sees it
  double max_payload;   // compared as a double, like `length > maxPayload`
};

inline bool known_opcode(unsigned opcode) { return opcode <= 2 || (opcode >= 8 && opcode <= 10); }

// Returns the record count; status etc. land in in.out.
inline size_t scan_frames(const Input& in) {
  uint8_t* const c = in.chunk;
  double* const out = in.out;
  const size_t n_out = in.out_length;
  // Writes past the end of a short Float64Array vanish in JS; here they are skipped.
  auto put = [&](size_t i, double v) {
    if (i < n_out) out[i] = v;
  };
  const bool expect_masked = (in.flags & SCAN_EXPECT_MASKED) != 0;
  const unsigned allowed_rsv = (unsigned)(in.flags & SCAN_RSV_MASK);
  // Math.floor((out.length - 8) / 3) is negative below 8 doubles: never full, records dropped.
  const bool has_records = n_out >= OUT_RECORDS;
  const size_t capacity = has_records ? (n_out - OUT_RECORDS) / RECORD_SIZE : SIZE_MAX;

  put(OUT_CODE, 0);
  put(OUT_HEADER_LENGTH, 0);
  put(OUT_PAYLOAD_LENGTH, 0);
  put(OUT_BITS, 0);
  put(OUT_MASK_KEY, 0);
  put(OUT_FAULT, FAULT_NONE);
  size_t count = 0;
  size_t p = in.start;

  auto stop = [&](double status) {
    put(OUT_STATUS, status);
    put(OUT_STOP, p == in.start ? in.start_value : (double)p);
    return count;
  };
  auto reject = [&](double fault, double code = CLOSE_PROTOCOL_ERROR) {
    put(OUT_CODE, code);
    put(OUT_FAULT, fault);
    return stop(SCAN_ERROR);
  };

  while (p < in.end) {
    const size_t avail = in.end - p;
    const unsigned b0 = c[p];
    const unsigned opcode = b0 & 0x0f, rsv = b0 & 0x70;
    const bool control = opcode >= 8;
    if (!known_opcode(opcode)) return reject(FAULT_OPCODE);
    const unsigned unclaimed_rsv = control ? rsv : rsv & ~allowed_rsv;  // control frames may not carry any
    if (unclaimed_rsv != 0) return reject((unclaimed_rsv & 0x40) != 0 ? FAULT_RSV1 : FAULT_RSV23);
    if (control && (b0 & 0x80) == 0) return reject(FAULT_CONTROL_FIN);
    if (avail < 2) return stop(SCAN_INCOMPLETE);

    const unsigned b1 = c[p + 1];
    const bool masked = (b1 & 0x80) != 0;
    const unsigned len7 = b1 & 0x7f;
    if (masked != expect_masked) return reject(masked ? FAULT_MASK_UNEXPECTED : FAULT_MASK_EXPECTED);
    if (control && len7 > 125) return reject(FAULT_CONTROL_LENGTH);

    size_t header_length = 2;
    uint64_t length = len7;
    // The JS keeps lengths of 2^53 and up as Number.MAX_VALUE ("huge").
    double length_value;
    if (len7 == 126) {
      if (avail < 4) return stop(SCAN_INCOMPLETE);
      length = ((uint64_t)c[p + 2] << 8) | c[p + 3];
      header_length = 4;
      length_value = (double)length;
    } else if (len7 == 127) {
      if (avail < 10) return stop(SCAN_INCOMPLETE);
      const uint32_t high = ((uint32_t)c[p + 2] << 24) | ((uint32_t)c[p + 3] << 16) | ((uint32_t)c[p + 4] << 8) | c[p + 5];
      const uint32_t low = ((uint32_t)c[p + 6] << 24) | ((uint32_t)c[p + 7] << 16) | ((uint32_t)c[p + 8] << 8) | c[p + 9];
      if (high >= 0x80000000u) return reject(FAULT_LENGTH_MSB);
      length = ((uint64_t)high << 32) | low;
      length_value = high >= 0x200000u ? DBL_MAX : (double)length;  // exact below 2^53
      header_length = 10;
    } else {
      length_value = (double)length;
    }
    if (length_value > in.max_payload) return reject(FAULT_TOO_BIG, CLOSE_MESSAGE_TOO_BIG);  // NaN max: never
    if (masked) header_length += 4;
    if (avail < header_length) return stop(SCAN_INCOMPLETE);

    // The key as the JS reports it (big-endian number) and as the kernel wants it (memory order).
    uint32_t key_be = 0, key_word = 0;
    if (masked) {
      const uint8_t* k = c + p + header_length - 4;
      key_be = ((uint32_t)k[0] << 24) | ((uint32_t)k[1] << 16) | ((uint32_t)k[2] << 8) | k[3];
      key_word = load_key32(k);
    }
    const uint64_t body = avail - header_length;
    // A huge length (only possible when maxPayload is not finite) never fits.
    if (length_value == DBL_MAX || body < length) {
      put(OUT_HEADER_LENGTH, (double)header_length);
      put(OUT_PAYLOAD_LENGTH, length_value);
      put(OUT_BITS, (double)b0);
      put(OUT_MASK_KEY, (double)key_be);
      return stop(SCAN_INCOMPLETE);
    }
    if (count == capacity) return stop(SCAN_FULL);

    const size_t payload_start = p + header_length;
    if (masked && length > 0) xor_key(c + payload_start, c + payload_start, (size_t)length, key_word);
    if (has_records) {
      double* r = out + OUT_RECORDS + count * RECORD_SIZE;
      r[0] = (double)b0;
      r[1] = (double)payload_start;
      r[2] = length_value;
    }
    count++;
    p = payload_start + (size_t)length;
  }
  return stop(SCAN_DONE);
}

}  // namespace scan
}  // namespace wsbolt
