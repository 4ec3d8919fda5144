// Incremental UTF-8 validation (RFC 3629), the state machine of reference.ts
// with the same state numbers, since states cross the JS boundary:
//   0 accept, 1 reject (sticky),
//   2/3/4 need 1/2/3 more continuation bytes in 80..BF,
//   5 after E0 (next A0..BF), 6 after ED (next 80..9F, no surrogates),
//   7 after F0 (next 90..BF), 8 after F4 (next 80..8F, nothing above U+10FFFF).
// The machine is table driven (byte -> class, state x class -> state); runs
// of ASCII at a code point boundary are skipped 64/16/8 bytes at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "contract.h"

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>  // _BitScanForward64
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#elif defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#endif

namespace wsbolt {
namespace utf8 {

constexpr uint32_t kAccept = contract::UTF8_ACCEPT;
constexpr uint32_t kReject = contract::UTF8_REJECT;
constexpr uint32_t kStates = contract::UTF8_STATES;

// Byte classes: the distinctions the states above need, and no more.
enum : uint8_t {
  kAscii,     // 00..7F
  kCont8,     // 80..8F
  kCont9,     // 90..9F
  kContA,     // A0..BF
  kBad,       // C0, C1, F5..FF: never valid
  kLead2,     // C2..DF
  kE0,        // E0
  kLead3,     // E1..EC, EE, EF
  kED,        // ED
  kF0,        // F0
  kLead4,     // F1..F3
  kF4,        // F4
  kClasses
};

constexpr uint8_t byte_class(unsigned b) {
  return b < 0x80   ? kAscii
         : b < 0x90 ? kCont8
         : b < 0xa0 ? kCont9
         : b < 0xc0 ? kContA
         : b < 0xc2 ? kBad
         : b < 0xe0 ? kLead2
         : b == 0xe0 ? kE0
         : b == 0xed ? kED
         : b < 0xf0 ? kLead3
         : b == 0xf0 ? kF0
         : b < 0xf4 ? kLead4
         : b == 0xf4 ? kF4
                     : kBad;
}

struct ClassTable {
  uint8_t v[256];
  constexpr ClassTable() : v() {
    for (unsigned b = 0; b < 256; b++) v[b] = byte_class(b);
  }
};
inline constexpr ClassTable kClass{};

// kNext[state][class]; columns in the enum order above.
inline constexpr uint8_t kNext[kStates][kClasses] = {
    //  asc 8x 9x A-B bad  C2 E0 E1 ED F0 F1 F4
    {0, 1, 1, 1, 1, 2, 5, 3, 6, 7, 4, 8},  // 0 accept
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 1 reject
    {1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},  // 2 one continuation left
    {1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},  // 3 two left
    {1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // 4 three left
    {1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1},  // 5 after E0: A0..BF
    {1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 6 after ED: 80..9F
    {1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // 7 after F0: 90..BF
    {1, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 8 after F4: 80..8F
};

inline unsigned ctz64(uint64_t x) {
#if defined(_MSC_VER) && !defined(__clang__)
  unsigned long r;
  _BitScanForward64(&r, x);
  return (unsigned)r;
#else
  return (unsigned)__builtin_ctzll(x);
#endif
}

// Length of the all-ASCII prefix of p[0, n).
inline size_t ascii_prefix(const uint8_t* p, size_t n) {
  size_t i = 0;
#if defined(__x86_64__) || defined(_M_X64)
  for (; i + 64 <= n; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i*)(p + i));
    __m128i b = _mm_loadu_si128((const __m128i*)(p + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i*)(p + i + 32));
    __m128i d = _mm_loadu_si128((const __m128i*)(p + i + 48));
    if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0) break;
  }
  for (; i + 16 <= n; i += 16) {
    int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i*)(p + i)));
    if (m != 0) return i + ctz64((uint64_t)(unsigned)m);
  }
#elif defined(__aarch64__) || defined(_M_ARM64)
  for (; i + 64 <= n; i += 64) {
    uint8x16_t a = vorrq_u8(vld1q_u8(p + i), vld1q_u8(p + i + 16));
    uint8x16_t b = vorrq_u8(vld1q_u8(p + i + 32), vld1q_u8(p + i + 48));
    if (vmaxvq_u8(vorrq_u8(a, b)) >= 0x80) break;
  }
  for (; i + 16 <= n; i += 16) {
    if (vmaxvq_u8(vld1q_u8(p + i)) >= 0x80) break;
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w &= 0x8080808080808080ull;
    if (w != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      break;  // the byte loop below finds it
#else
      return i + (ctz64(w) >> 3);
#endif
    }
  }
  while (i < n && p[i] < 0x80) i++;
  return i;
}

// Feeds p[0, n) to the machine from a valid state (0..8); returns the new state.
inline uint32_t step(const uint8_t* p, size_t n, uint32_t state) {
  size_t i = 0;
  while (i < n) {
    if (state == kAccept && p[i] < 0x80) {
      i += ascii_prefix(p + i, n - i);
      if (i == n) break;
    }
    state = kNext[state][kClass.v[p[i++]]];
    if (state == kReject) return kReject;
  }
  return state;
}

}  // namespace utf8
}  // namespace wsbolt
