// XOR with a repeating 4-byte key: the WebSocket masking kernels.
//
// Every kernel computes dst[i] = src[i] ^ key byte (i & 3) for 0 <= i < n, reading
// exactly n bytes and writing exactly n bytes. dst may equal src (in-place
// unmask) or lie below it: work goes strictly forward and each block is loaded
// before it is stored, so a forward overlap sees the same bytes as a byte loop.
// Unaligned accesses go through memcpy or unaligned intrinsics (no UB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define WSB_X64 1
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define WSB_TARGET_AVX2  // MSVC emits AVX2 intrinsics without a flag
#else
#define WSB_TARGET_AVX2 __attribute__((target("avx2")))
#endif
#elif defined(__aarch64__) || defined(_M_ARM64)
#define WSB_NEON 1
#include <arm_neon.h>
#endif

namespace wsbolt {

// Keys travel as a uint32 holding the 4 key bytes in memory order (memcpy'd),
// so a vector broadcast of it lays the bytes out k0 k1 k2 k3 k0 ... on any endianness.
inline uint32_t load_key32(const uint8_t k[4]) {
  uint32_t w;
  std::memcpy(&w, k, 4);
  return w;
}

// The key for data that starts `phase` bytes into the key: byte j becomes k[(phase + j) & 3].
inline uint32_t rotate_key(uint32_t kw, unsigned phase) {
  const unsigned r = (phase & 3) * 8;
  if (r == 0) return kw;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return (kw << r) | (kw >> (32 - r));
#else
  return (kw >> r) | (kw << (32 - r));  // byte 0 is the low byte
#endif
}

// Portable path, also the head/tail of the vector kernels: 8-byte words, then bytes.
inline void xor_words(const uint8_t* src, uint8_t* dst, size_t n, uint32_t kw) {
  const uint64_t k8 = (uint64_t)kw * 0x0000000100000001ull;  // the key twice, in memory order either way
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, src + i, 8);
    w ^= k8;
    std::memcpy(dst + i, &w, 8);
  }
  uint8_t k[4];
  std::memcpy(k, &kw, 4);
  for (; i < n; i++) dst[i] = src[i] ^ k[i & 3];  // i & 3 stays right: the word loop moved in steps of 8
}

#if defined(WSB_X64)
// SSE2 is part of x86-64, so this is the baseline.
inline void xor_sse2(const uint8_t* src, uint8_t* dst, size_t n, uint32_t k) {
  size_t i = 0;
  if (n >= 128) {
    // Align the stores: split-line stores halve throughput on big buffers.
    size_t head = (size_t)(-(uintptr_t)dst) & 15;
    xor_words(src, dst, head, k);
    k = rotate_key(k, (unsigned)head);
    i = head;
  }
  const __m128i kv = _mm_set1_epi32((int)k);
  for (; i + 64 <= n; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i*)(src + i));
    __m128i b = _mm_loadu_si128((const __m128i*)(src + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i*)(src + i + 32));
    __m128i d = _mm_loadu_si128((const __m128i*)(src + i + 48));
    _mm_storeu_si128((__m128i*)(dst + i), _mm_xor_si128(a, kv));
    _mm_storeu_si128((__m128i*)(dst + i + 16), _mm_xor_si128(b, kv));
    _mm_storeu_si128((__m128i*)(dst + i + 32), _mm_xor_si128(c, kv));
    _mm_storeu_si128((__m128i*)(dst + i + 48), _mm_xor_si128(d, kv));
  }
  for (; i + 16 <= n; i += 16) {
    __m128i a = _mm_loadu_si128((const __m128i*)(src + i));
    _mm_storeu_si128((__m128i*)(dst + i), _mm_xor_si128(a, kv));
  }
  // i - head is a multiple of 16, so the rotated key still lines up.
  xor_words(src + i, dst + i, n - i, k);
}

WSB_TARGET_AVX2 inline void xor_avx2(const uint8_t* src, uint8_t* dst, size_t n, uint32_t k) {
  size_t i = 0;
  if (n >= 256) {
    size_t head = (size_t)(-(uintptr_t)dst) & 31;
    xor_words(src, dst, head, k);
    k = rotate_key(k, (unsigned)head);
    i = head;
  }
  const __m256i kv = _mm256_set1_epi32((int)k);
  // 4 x 32 bytes per turn: enough independent loads to keep both load ports busy.
  for (; i + 128 <= n; i += 128) {
    __m256i a = _mm256_loadu_si256((const __m256i*)(src + i));
    __m256i b = _mm256_loadu_si256((const __m256i*)(src + i + 32));
    __m256i c = _mm256_loadu_si256((const __m256i*)(src + i + 64));
    __m256i d = _mm256_loadu_si256((const __m256i*)(src + i + 96));
    _mm256_storeu_si256((__m256i*)(dst + i), _mm256_xor_si256(a, kv));
    _mm256_storeu_si256((__m256i*)(dst + i + 32), _mm256_xor_si256(b, kv));
    _mm256_storeu_si256((__m256i*)(dst + i + 64), _mm256_xor_si256(c, kv));
    _mm256_storeu_si256((__m256i*)(dst + i + 96), _mm256_xor_si256(d, kv));
  }
  for (; i + 32 <= n; i += 32) {
    __m256i a = _mm256_loadu_si256((const __m256i*)(src + i));
    _mm256_storeu_si256((__m256i*)(dst + i), _mm256_xor_si256(a, kv));
  }
  if (i + 16 <= n) {
    __m128i a = _mm_loadu_si128((const __m128i*)(src + i));
    _mm_storeu_si128((__m128i*)(dst + i), _mm_xor_si128(a, _mm256_castsi256_si128(kv)));
    i += 16;
  }
  xor_words(src + i, dst + i, n - i, k);
}

inline bool cpu_has_avx2() {
#if defined(_MSC_VER) && !defined(__clang__)
  int r[4];
  __cpuid(r, 0);
  if (r[0] < 7) return false;
  __cpuid(r, 1);
  const bool osxsave = (r[2] & (1 << 27)) != 0, avx = (r[2] & (1 << 28)) != 0;
  if (!osxsave || !avx || (_xgetbv(0) & 6) != 6) return false;  // OS saves YMM state
  __cpuidex(r, 7, 0);
  return (r[1] & (1 << 5)) != 0;
#else
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#endif
}
#elif defined(WSB_NEON)
inline void xor_neon(const uint8_t* src, uint8_t* dst, size_t n, uint32_t k) {
  const uint8x16_t kv = vreinterpretq_u8_u32(vdupq_n_u32(k));
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    uint8x16_t a = vld1q_u8(src + i), b = vld1q_u8(src + i + 16);
    uint8x16_t c = vld1q_u8(src + i + 32), d = vld1q_u8(src + i + 48);
    vst1q_u8(dst + i, veorq_u8(a, kv));
    vst1q_u8(dst + i + 16, veorq_u8(b, kv));
    vst1q_u8(dst + i + 32, veorq_u8(c, kv));
    vst1q_u8(dst + i + 48, veorq_u8(d, kv));
  }
  for (; i + 16 <= n; i += 16) vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), kv));
  xor_words(src + i, dst + i, n - i, k);
}
#endif

using XorKernel = void (*)(const uint8_t*, uint8_t*, size_t, uint32_t);

// Chosen once by init_kernels(); the build itself targets plain x86-64.
#if defined(WSB_X64)
inline XorKernel g_xor_kernel = xor_sse2;
inline void init_kernels() {
  if (cpu_has_avx2()) g_xor_kernel = xor_avx2;
}
#elif defined(WSB_NEON)
inline XorKernel g_xor_kernel = xor_neon;
inline void init_kernels() {}
#else
inline XorKernel g_xor_kernel = xor_words;
inline void init_kernels() {}
#endif

// The entry point: tiny inputs skip the indirect call.
inline void xor_key(const uint8_t* src, uint8_t* dst, size_t n, uint32_t k) {
  if (n < 32)
    xor_words(src, dst, n, k);
  else
    g_xor_kernel(src, dst, n, k);
}

}  // namespace wsbolt
