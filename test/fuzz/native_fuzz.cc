// libFuzzer target for the C++ hot path (native/*.h), without N-API.
//
// Every input drives all three kernels:
//   1. scan::scan_frames on the input (after a 6-byte parameter prefix), with
//      flags, maxPayload, offset and record capacity taken from the prefix,
//      compared field by field (status, stop, close code, fault, partial-header
//      fields, records, unmasked bytes) with an independent transliteration of
//      scanFrames() in src/native/reference.ts (the reference of the contract);
//   2. xor_key and every kernel it can dispatch to (xor_words, xor_sse2,
//      xor_avx2 when the CPU has it), on the input at an odd alignment, length
//      and key phase, out of place, in place and with dst below src (the
//      forward overlap mask.h allows), compared with a byte loop;
//   3. utf8::step with its state carried across a split point taken from the
//      prefix, compared with the switch-based machine of reference.ts (same
//      state numbers) and with a code-point decoder written from RFC 3629.
// Buffers are heap copies of exactly the size the kernel may touch, so ASan
// reports any read or write outside them. A mismatch aborts with a message.
//
// Build and run: scripts/fuzz/build-libfuzzer.sh, scripts/fuzz/run-libfuzzer.sh.
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../../native/mask.h"
#include "../../native/scan.h"
#include "../../native/utf8.h"

using namespace wsbolt;

namespace {

[[noreturn]] void fail(const char* what, const uint8_t* data, size_t size) {
  std::fprintf(stderr, "native_fuzz: MISMATCH in %s (input %zu bytes)\n", what, size);
  for (size_t i = 0; i < size && i < 256; i++) std::fprintf(stderr, "%02x", data[i]);
  std::fprintf(stderr, "%s\n", size > 256 ? "..." : "");
  std::abort();
}

// ---- 1. scanFrames --------------------------------------------------------

// scanFrames() of reference.ts, statement by statement, with a Float64Array
// of n doubles (writes at or past n vanish, as in JS).
struct RefOut {
  std::vector<double> v;
  void put(size_t i, double x) {
    if (i < v.size()) v[i] = x;
  }
};

bool ref_known_opcode(unsigned op) { return op <= 2 || (op >= 8 && op <= 10); }

double ref_scan(uint8_t* chunk, size_t end, size_t start, double start_value, RefOut& out, int32_t flags, double max_payload) {
  const bool expect_masked = (flags & 1) != 0;
  const int32_t allowed_rsv = flags & 0x70;
  // Math.floor((out.length - 8) / 3): negative (never reached) below 8.
  const double capacity = std::floor(((double)out.v.size() - 8.0) / 3.0);
  out.put(2, 0);
  out.put(3, 0);
  out.put(4, 0);
  out.put(5, 0);
  out.put(6, 0);
  out.put(7, 0);
  double count = 0;
  size_t p = start;
  auto stop = [&](double status, double code, double fault = 0) {
    out.put(0, status);
    out.put(1, p == start ? start_value : (double)p);
    out.put(2, code);
    out.put(7, fault);
    return count;
  };
  using namespace contract;
  while (p < end) {
    const size_t avail = end - p;
    const int b0 = chunk[p];
    const int opcode = b0 & 0x0f;
    const int rsv = b0 & 0x70;
    const bool control = opcode >= 8;
    if (!ref_known_opcode((unsigned)opcode)) return stop(3, 1002, FAULT_OPCODE);
    if ((rsv & ~allowed_rsv) != 0 || (control && rsv != 0)) {
      const bool rsv1 = (rsv & 0x40) != 0 && (control || (allowed_rsv & 0x40) == 0);
      return stop(3, 1002, rsv1 ? FAULT_RSV1 : FAULT_RSV23);
    }
    if (control && (b0 & 0x80) == 0) return stop(3, 1002, FAULT_CONTROL_FIN);
    if (avail < 2) return stop(1, 0);
    const int b1 = chunk[p + 1];
    const bool masked = (b1 & 0x80) != 0;
    const int len7 = b1 & 0x7f;
    if (masked != expect_masked) return stop(3, 1002, masked ? FAULT_MASK_UNEXPECTED : FAULT_MASK_EXPECTED);
    if (control && len7 > 125) return stop(3, 1002, FAULT_CONTROL_LENGTH);
    size_t header_length = 2;
    double length = len7;
    if (len7 == 126) {
      if (avail < 4) return stop(1, 0);
      length = (double)((chunk[p + 2] << 8) | chunk[p + 3]);
      header_length = 4;
    } else if (len7 == 127) {
      if (avail < 10) return stop(1, 0);
      double high = 0, low = 0;
      for (int i = 0; i < 4; i++) high = high * 256 + chunk[p + 2 + i];
      for (int i = 0; i < 4; i++) low = low * 256 + chunk[p + 6 + i];
      if (high >= 2147483648.0) return stop(3, 1002, FAULT_LENGTH_MSB);
      length = high >= 2097152.0 ? DBL_MAX : high * 4294967296.0 + low;
      header_length = 10;
    }
    if (length > max_payload) return stop(3, 1009, FAULT_TOO_BIG);
    if (masked) header_length += 4;
    if (avail < header_length) return stop(1, 0);
    double key = 0;
    if (masked) for (int i = 0; i < 4; i++) key = key * 256 + chunk[p + header_length - 4 + i];
    if ((double)(avail - header_length) < length) {
      out.put(3, (double)header_length);
      out.put(4, length);
      out.put(5, b0);
      out.put(6, key);
      out.put(0, 1);
      out.put(1, p == start ? start_value : (double)p);
      return count;
    }
    if (count == capacity) return stop(2, 0);
    const size_t payload_start = p + header_length;
    const size_t n = (size_t)length;
    if (masked && n > 0) {
      const uint8_t* k = chunk + p + header_length - 4;
      for (size_t i = 0; i < n; i++) chunk[payload_start + i] ^= k[i & 3];
    }
    const size_t r = 8 + (size_t)count * 3;
    out.put(r, b0);
    out.put(r + 1, (double)payload_start);
    out.put(r + 2, length);
    count++;
    p = payload_start + n;
  }
  return stop(0, 0);
}

bool same_double(double a, double b) { return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b)); }

void fuzz_scan(const uint8_t* prefix, const uint8_t* body, size_t n, const uint8_t* data, size_t size) {
  // prefix[0]: flags (mask bit + RSV bits; other bits are ignored by both)
  // prefix[1]: maxPayload selector; prefix[2]: offset; prefix[3]: out length
  static const double kMax[] = {0, 1, 2, 125, 126, 127, 65535, 65536, 4294967295.0, 4294967296.0,
                                9007199254740991.0, 9007199254740992.0, 9223372036854775807.0, DBL_MAX, INFINITY, NAN};
  const int32_t flags = (int32_t)(int8_t)prefix[0];  // sign-extended: high bits set sometimes
  double max_payload;
  const unsigned ms = prefix[1];
  if (ms < 16 * 8) max_payload = kMax[ms & 15];
  else if (ms < 224) max_payload = (double)(ms - 128) * 3;  // 0..285
  else max_payload = (double)n - (double)(ms - 240);        // around the input length
  // Offsets: mostly at the start, sometimes inside or past the end.
  const unsigned os = prefix[2];
  size_t start = os < 128 ? 0 : os < 240 ? (os - 128) % (n + 1) : n + (os - 240);
  double start_value = (double)start;
  // out length in doubles: 0..7 (no records), 8 (records dropped: capacity 0), 9..10, or room for 1..64 records.
  const unsigned cs = prefix[3];
  size_t out_length = cs < 16 ? cs % 11 : 8 + 3 * (1 + (cs % 64));

  std::vector<uint8_t> b(body, body + n);
  // Exact-size heap buffers so that ASan sees any overrun.
  uint8_t* chunk = n ? new uint8_t[n] : new uint8_t[1];
  std::memcpy(chunk, body, n);
  double* out = new double[out_length ? out_length : 1];
  for (size_t i = 0; i < out_length; i++) out[i] = -7.5;
  RefOut ref;
  ref.v.assign(out_length, -7.5);

  scan::Input in;
  in.chunk = chunk;
  in.end = n;
  in.start = start < n ? start : n;
  in.start_value = start_value;
  in.out = out;
  in.out_length = out_length;
  in.flags = flags;
  in.max_payload = max_payload;
  const size_t count = scan::scan_frames(in);
  const double ref_count = ref_scan(b.data(), n, in.start, start_value, ref, flags, max_payload);
  if ((double)count != ref_count) fail("scan_frames: record count", data, size);
  for (size_t i = 0; i < out_length; i++)
    if (!same_double(out[i], ref.v[i])) {
      std::fprintf(stderr, "out[%zu] native %.17g reference %.17g\n", i, out[i], ref.v[i]);
      fail("scan_frames: out array", data, size);
    }
  if (n && std::memcmp(chunk, b.data(), n) != 0) fail("scan_frames: unmasked bytes", data, size);

  // Invariants that hold whatever the reference says.
  if (out_length >= 2) {
    const double status = out[0];
    if (status != 0 && status != 1 && status != 2 && status != 3) fail("scan_frames: status", data, size);
  }
  if (out_length > 8) {
    for (size_t r = 0; r < count && 8 + r * 3 + 2 < out_length; r++) {
      const double off = out[8 + r * 3 + 1], len = out[8 + r * 3 + 2];
      if (off < 0 || len < 0 || off + len > (double)n) fail("scan_frames: record outside the chunk", data, size);
    }
  }
  delete[] chunk;
  delete[] out;
}

// ---- 2. masking -----------------------------------------------------------

void byte_loop(const uint8_t* src, uint8_t* dst, size_t n, const uint8_t key[4]) {
  for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ key[i & 3];
}

using Kernel = void (*)(const uint8_t*, uint8_t*, size_t, uint32_t);

void check_kernel(Kernel kernel, const char* name, const uint8_t* src_bytes, size_t n, unsigned align_src, unsigned align_dst,
                  const uint8_t key[4], const uint8_t* data, size_t size) {
  // Out of place, at the given misalignments, in buffers of exactly the touched size.
  uint8_t* sbuf = new uint8_t[align_src + n + 1];
  uint8_t* dbuf = new uint8_t[align_dst + n + 1];
  std::memcpy(sbuf + align_src, src_bytes, n);
  std::memset(dbuf, 0xa5, align_dst + n + 1);
  std::vector<uint8_t> expect(n);
  byte_loop(src_bytes, expect.data(), n, key);
  kernel(sbuf + align_src, dbuf + align_dst, n, load_key32(key));
  if (n && std::memcmp(dbuf + align_dst, expect.data(), n) != 0) fail(name, data, size);
  for (unsigned i = 0; i < align_dst; i++)
    if (dbuf[i] != 0xa5) fail(name, data, size);  // wrote before dst
  if (dbuf[align_dst + n] != 0xa5) fail(name, data, size);  // wrote past dst + n
  if (std::memcmp(sbuf + align_src, src_bytes, n) != 0) fail(name, data, size);  // touched src
  delete[] sbuf;
  delete[] dbuf;

  // In place.
  uint8_t* ibuf = new uint8_t[align_src + n];
  std::memcpy(ibuf + align_src, src_bytes, n);
  kernel(ibuf + align_src, ibuf + align_src, n, load_key32(key));
  if (n && std::memcmp(ibuf + align_src, expect.data(), n) != 0) fail(name, data, size);
  delete[] ibuf;

  // dst below src (forward overlap): the result must equal a forward byte loop.
  const size_t gap = 1 + (align_dst % 40);
  uint8_t* obuf = new uint8_t[gap + n];
  std::memcpy(obuf + gap, src_bytes, n);
  std::vector<uint8_t> ref(obuf, obuf + gap + n);
  for (size_t i = 0; i < n; i++) ref[i] = ref[gap + i] ^ key[i & 3];
  kernel(obuf + gap, obuf, n, load_key32(key));
  if (std::memcmp(obuf, ref.data(), gap + n) != 0) fail(name, data, size);
  delete[] obuf;
}

void fuzz_mask(const uint8_t* prefix, const uint8_t* body, size_t n, const uint8_t* data, size_t size) {
  const unsigned align_src = prefix[4] & 63, align_dst = (prefix[4] >> 6) | ((prefix[5] & 15) << 2);
  const unsigned phase = (prefix[5] >> 4) & 3;
  uint8_t key[4] = {(uint8_t)(prefix[0] ^ 0x5a), prefix[1], prefix[2], prefix[3]};
  // Lengths: the whole body, and a length just around the vector thresholds, bounded by the body.
  check_kernel(xor_key, "xor_key", body, n, align_src, align_dst, key, data, size);
  check_kernel(xor_words, "xor_words", body, n, align_src, align_dst, key, data, size);
#if defined(WSB_X64)
  check_kernel(xor_sse2, "xor_sse2", body, n, align_src, align_dst, key, data, size);
  static const bool avx2 = cpu_has_avx2();
  if (avx2) check_kernel(xor_avx2, "xor_avx2", body, n, align_src, align_dst, key, data, size);
#endif
  // rotate_key: unmasking a payload that starts `phase` bytes into the key.
  std::vector<uint8_t> expect(n), got(n);
  for (size_t i = 0; i < n; i++) expect[i] = body[i] ^ key[(phase + i) & 3];
  xor_key(body, got.data(), n, rotate_key(load_key32(key), phase));
  if (n && std::memcmp(got.data(), expect.data(), n) != 0) fail("rotate_key + xor_key", data, size);
  // Part by part, as the reader unmasks a frame that straddles reads: the phase carries over.
  if (n > 1) {
    const size_t cut = 1 + (prefix[5] * 131u + n) % (n - 1);
    std::vector<uint8_t> parts(body, body + n);
    xor_key(parts.data(), parts.data(), cut, rotate_key(load_key32(key), phase));
    xor_key(parts.data() + cut, parts.data() + cut, n - cut, rotate_key(load_key32(key), (unsigned)((phase + cut) & 3)));
    if (std::memcmp(parts.data(), expect.data(), n) != 0) fail("xor_key in two parts", data, size);
  }
}

// ---- 3. UTF-8 -------------------------------------------------------------

// The switch-based machine of reference.ts, state numbers included.
uint32_t ref_lead(unsigned b) {
  if (b < 0x80) return 0;
  if (b < 0xc2) return 1;
  if (b < 0xe0) return 2;
  if (b == 0xe0) return 5;
  if (b == 0xed) return 6;
  if (b < 0xf0) return 3;
  if (b == 0xf0) return 7;
  if (b < 0xf4) return 4;
  if (b == 0xf4) return 8;
  return 1;
}

uint32_t ref_step(const uint8_t* p, size_t n, uint32_t state) {
  for (size_t i = 0; i < n; i++) {
    const unsigned b = p[i];
    switch (state) {
      case 0: state = b < 0x80 ? 0 : ref_lead(b); break;
      case 2: state = (b >= 0x80 && b <= 0xbf) ? 0 : 1; break;
      case 3: state = (b >= 0x80 && b <= 0xbf) ? 2 : 1; break;
      case 4: state = (b >= 0x80 && b <= 0xbf) ? 3 : 1; break;
      case 5: state = (b >= 0xa0 && b <= 0xbf) ? 2 : 1; break;
      case 6: state = (b >= 0x80 && b <= 0x9f) ? 2 : 1; break;
      case 7: state = (b >= 0x90 && b <= 0xbf) ? 3 : 1; break;
      case 8: state = (b >= 0x80 && b <= 0x8f) ? 3 : 1; break;
      default: return 1;
    }
    if (state == 1) return 1;
  }
  return state;
}

// RFC 3629 by decoding: 0 valid, 1 invalid, 2 a valid prefix cut inside a code point.
int decode_check(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const unsigned b = p[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint32_t cp, min;
    if ((b & 0xe0) == 0xc0) need = 1, cp = b & 0x1f, min = 0x80;
    else if ((b & 0xf0) == 0xe0) need = 2, cp = b & 0x0f, min = 0x800;
    else if ((b & 0xf8) == 0xf0) need = 3, cp = b & 0x07, min = 0x10000;
    else return 1;
    size_t j = 1;
    for (; j <= need && i + j < n; j++) {
      const unsigned c = p[i + j];
      if ((c & 0xc0) != 0x80) return 1;
      cp = (cp << 6) | (c & 0x3f);
      // Reject as early as the bytes so far allow (what an incremental validator must do).
      const size_t have = j, left = need - have;
      const uint32_t lo = cp << (6 * left), hi = lo | ((1u << (6 * left)) - 1);
      if (hi < min || lo > 0x10ffff || (lo >= 0xd800 && hi <= 0xdfff)) return 1;
    }
    if (j <= need) {
      // Cut short: the lead byte alone must still allow some valid completion.
      if (need == 1 && b < 0xc2) return 1;
      if (b > 0xf4) return 1;
      return 2;
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 1;
    i += need + 1;
  }
  return 0;
}

void fuzz_utf8(const uint8_t* prefix, const uint8_t* body, size_t n, const uint8_t* data, size_t size) {
  // Exact-size heap copies of each side of the split.
  const size_t cut = n ? (prefix[2] * 257u + prefix[3]) % (n + 1) : 0;
  uint8_t* left = new uint8_t[cut ? cut : 1];
  uint8_t* right = new uint8_t[n - cut ? n - cut : 1];
  std::memcpy(left, body, cut);
  std::memcpy(right, body + cut, n - cut);
  const uint32_t s1 = utf8::step(left, cut, utf8::kAccept);
  const uint32_t s1_ref = ref_step(body, cut, 0);
  if (s1 != s1_ref) fail("utf8::step first part", data, size);
  uint32_t s2 = s1 == utf8::kReject ? utf8::kReject : utf8::step(right, n - cut, s1);
  const uint32_t whole = utf8::step(body, n, utf8::kAccept);
  if (s2 != whole) fail("utf8::step across a split", data, size);
  if (whole != ref_step(body, n, 0)) fail("utf8::step vs switch machine", data, size);
  const int verdict = decode_check(body, n);
  const int from_state = whole == 0 ? 0 : whole == 1 ? 1 : 2;
  if (verdict != from_state) {
    std::fprintf(stderr, "state %u, decoder verdict %d\n", whole, verdict);
    fail("utf8::step vs RFC 3629 decoder", data, size);
  }
  // Every valid entry state, on the right part alone (the state a previous frame may leave).
  const uint32_t entry = prefix[4] % 9;
  if (entry != utf8::kReject && utf8::step(right, n - cut, entry) != ref_step(body + cut, n - cut, entry))
    fail("utf8::step from an inner state", data, size);
  delete[] left;
  delete[] right;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init_kernels();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const uint8_t* prefix = data;
  const uint8_t* body = data + 6;
  const size_t n = size - 6;
  fuzz_scan(prefix, body, n, data, size);
  fuzz_mask(prefix, body, n, data, size);
  fuzz_utf8(prefix, body, n, data, size);
  return 0;
}
