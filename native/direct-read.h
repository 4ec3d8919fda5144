// A frame payload read straight into its final buffer (issue 17): once the
// engine has a buffer for a frame whose payload has not arrived yet, the
// transport points the kernel's reads at the buffer's free end, and each read
// is unmasked where it landed. One kernel copy, no slab, no join. Byte
// layout only: which buffer, how large and when is the engine's decision.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mask.h"

namespace wsbolt {

struct DirectRead {
  uint8_t* data = nullptr;  // the free end of the frame's buffer
  size_t length = 0;        // bytes the frame still needs
  size_t filled = 0;        // of them, already read
  uint32_t key = 0;         // the masking key in memory order (see load_key32)
  unsigned phase = 0;       // how far into the key data[filled] is
  bool masked = false;

  // key_be: the key as the header carries it, big-endian; phase: how many payload bytes came before data[0].
  void arm(uint8_t* buffer, size_t size, bool is_masked, uint32_t key_be, unsigned first_phase) {
    const uint8_t bytes[4] = {static_cast<uint8_t>(key_be >> 24), static_cast<uint8_t>(key_be >> 16), static_cast<uint8_t>(key_be >> 8),
                              static_cast<uint8_t>(key_be)};
    data = buffer;
    length = size;
    filled = 0;
    key = load_key32(bytes);
    phase = first_phase & 3;
    masked = is_masked;
  }

  // Where the next read goes, and at most how much of it belongs to the frame.
  uint8_t* next() const { return data + filled; }
  size_t room() const { return length - filled; }

  // n bytes (n <= room()) landed at next(): unmasks them in place. True when the frame is complete.
  bool landed(size_t n) {
    uint8_t* p = data + filled;
    if (masked && n > 0) xor_key(p, p, n, rotate_key(key, phase));
    phase = static_cast<unsigned>((phase + n) & 3);
    filled += n;
    return filled == length;
  }
};

}  // namespace wsbolt
