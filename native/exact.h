// Step-by-step replicas of fallback.ts mask()/unmask() for inputs where the
// fast kernels could differ from the JS: a phase that is not a plain integer
// (the JS evaluates (phase + i) & 3 per byte in doubles), a key that lies inside
// the bytes being written (the JS rereads it per byte, but snapshots it for
// its word loop), and an output that overlaps the source from above (the JS
// loop cascades). Slow, and never taken by the library's own calls.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wsbolt {
namespace exact {

// (ToInt32(x) & 3), as `x & 3` in JS.
inline unsigned js_and3(double x) {
  if (!std::isfinite(x)) return 0;
  const double m = std::fmod(std::trunc(x), 4.0);  // exact; same residue as x mod 2^32
  return (unsigned)((int)m & 3);
}

// key[j] in JS: past the end of the key it is undefined, and `b ^ undefined` is b.
inline uint8_t key_at(const uint8_t* key, size_t key_length, unsigned j) { return j < key_length ? key[j] : 0; }

// fallback.ts unmask(); buf_offset is buffer.byteOffset.
inline unsigned unmask(uint8_t* buf, size_t n, size_t buf_offset, const uint8_t* key, size_t key_length, double phase) {
  size_t i = 0;
  while (i < n && ((buf_offset + i) & 3) != 0) {
    buf[i] ^= key_at(key, key_length, js_and3(phase + (double)i));
    i++;
  }
  const size_t words = (size_t)((uint32_t)(n - i) >> 2);  // `>>> 2` first wraps to a uint32
  if (words > 0) {
    const double p = phase + (double)i;
    uint8_t rot[4];
    for (unsigned j = 0; j < 4; j++) rot[j] = key_at(key, key_length, js_and3(p + j));
    for (size_t w = 0; w < words; w++, i += 4) {
      uint8_t* b = buf + i;
      b[0] ^= rot[0], b[1] ^= rot[1], b[2] ^= rot[2], b[3] ^= rot[3];
    }
  }
  for (; i < n; i++) buf[i] ^= key_at(key, key_length, js_and3(phase + (double)i));
  return js_and3(phase + (double)n);
}

// fallback.ts mask(); *_offset are the views' byteOffsets.
inline void mask(const uint8_t* src, size_t src_offset, const uint8_t* key, size_t key_length, uint8_t* dst,
                 size_t dst_offset, size_t length) {
  size_t i = 0;
  if (length >= 16 && (dst_offset & 3) == 0 && (src_offset & 3) == 0) {
    uint8_t k[4];
    for (unsigned j = 0; j < 4; j++) k[j] = key_at(key, key_length, j);
    const size_t words = (size_t)((uint32_t)length >> 2);  // `length >>> 2`
    for (size_t w = 0; w < words; w++, i += 4) {
      uint8_t b[4];
      std::memcpy(b, src + i, 4);  // read the whole word, then write it
      for (unsigned j = 0; j < 4; j++) dst[i + j] = b[j] ^ k[j];
    }
  }
  for (; i < length; i++) dst[i] = src[i] ^ key_at(key, key_length, (unsigned)(i & 3));
}

}  // namespace exact
}  // namespace wsbolt
