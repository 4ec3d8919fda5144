// libFuzzer target for the native transport's read path (issue 17), without
// libuv or N-API: the frame-boundary and direct-read bookkeeping over any
// chunking of any byte stream.
//
// Input: an 8-byte prefix, then the stream. The prefix picks the role (masked
// or not), maxPayload, the record capacity per scan (small, so SCAN_FULL and
// its restart happen), the smallest rest worth a direct read, and a seed for
// the read sizes (1 to 4096 bytes, as the kernel might hand them out).
//
// The simulation does what native/transport.cc and FrameReader do together:
// reads land in a pending buffer that scan_frames walks; a frame cut short
// after its header gets a heap buffer of exactly its declared size (ASan
// catches any byte written outside it), the part already read is unmasked
// into it, and the rest is read straight into it through DirectRead
// (native/direct-read.h), never more than it still owes, unmasked where it
// landed. What follows the frame goes back to the pending buffer.
//
// The reference is one scan_frames call over a copy of the whole stream: the
// frames (bits and unmasked payload) and, if the stream breaks a rule, the
// fault must be the same however the stream was cut. A mismatch aborts.
//
// Build and run: scripts/fuzz/build-libfuzzer.sh, scripts/fuzz/run-libfuzzer.sh 60 read_fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "../../native/direct-read.h"
#include "../../native/mask.h"
#include "../../native/scan.h"

using namespace wsbolt;
using namespace wsbolt::contract;

namespace {

struct Frame {
  unsigned bits;
  std::vector<uint8_t> payload;
  bool operator==(const Frame& o) const { return bits == o.bits && payload == o.payload; }
};

struct Outcome {
  std::vector<Frame> frames;
  double fault = 0;  // FAULT_NONE unless the stream broke a header rule
  bool failed = false;
};

[[noreturn]] void fail(const char* what, const uint8_t* data, size_t size) {
  std::fprintf(stderr, "read_fuzz: MISMATCH in %s (input %zu bytes)\n", what, size);
  for (size_t i = 0; i < size && i < 256; i++) std::fprintf(stderr, "%02x", data[i]);
  std::fprintf(stderr, "%s\n", size > 256 ? "..." : "");
  std::abort();
}

struct Params {
  int32_t flags;
  double max_payload;
  size_t records;      // record capacity per scan
  size_t min_direct;   // smallest rest read straight into the frame's buffer
  uint32_t seed;
};

// Scans buf[0, len) until it needs more bytes; appends complete frames; returns the bytes consumed, or SIZE_MAX on a fault.
size_t scan_all(uint8_t* buf, size_t len, const Params& p, Outcome& out, std::vector<double>& records, double* header) {
  size_t pos = 0;
  for (;;) {
    scan::Input in{buf, len, pos, static_cast<double>(pos), records.data(), records.size(), p.flags, p.max_payload};
    const size_t count = scan::scan_frames(in);
    for (size_t i = 0; i < count; i++) {
      const double* r = records.data() + OUT_RECORDS + i * RECORD_SIZE;
      const size_t start = static_cast<size_t>(r[1]), length = static_cast<size_t>(r[2]);
      out.frames.push_back(Frame{static_cast<unsigned>(r[0]), std::vector<uint8_t>(buf + start, buf + start + length)});
    }
    const double status = records[OUT_STATUS];
    const size_t stop = static_cast<size_t>(records[OUT_STOP]);
    if (status == SCAN_FULL) {
      pos = stop;
      continue;
    }
    if (status == SCAN_ERROR) {
      out.failed = true;
      out.fault = records[OUT_FAULT];
      return SIZE_MAX;
    }
    for (int i = 0; i < 4; i++) header[i] = records[OUT_HEADER_LENGTH + i];  // header length, payload length, bits, key
    return stop;
  }
}

Outcome reference(const uint8_t* stream, size_t n, const Params& p) {
  Outcome out;
  std::vector<uint8_t> copy(stream, stream + n);
  std::vector<double> records(OUT_RECORDS + RECORD_SIZE * (n + 1));
  double header[4];
  scan_all(copy.data(), copy.size(), p, out, records, header);
  return out;
}

uint32_t next_random(uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

Outcome chunked(const uint8_t* stream, size_t n, const Params& p) {
  Outcome out;
  std::vector<uint8_t> pending;  // read, not yet a whole frame
  std::vector<double> records(OUT_RECORDS + RECORD_SIZE * p.records);
  std::unique_ptr<uint8_t[]> frame;  // exactly the declared payload size
  unsigned frame_bits = 0;
  size_t frame_length = 0;
  DirectRead direct;
  bool armed = false;
  uint32_t s = p.seed | 1;
  size_t pos = 0;
  while (pos < n) {
    const size_t read = 1 + next_random(s) % 4096;
    if (armed) {
      // The kernel writes at most what the frame still owes (on_alloc's buffer length).
      const size_t k = read < direct.room() ? read : direct.room();
      const size_t take = k < n - pos ? k : n - pos;
      std::memcpy(direct.next(), stream + pos, take);
      pos += take;
      if (direct.landed(take)) {
        out.frames.push_back(Frame{frame_bits, std::vector<uint8_t>(frame.get(), frame.get() + frame_length)});
        frame.reset();
        armed = false;
      }
      continue;
    }
    const size_t take = read < n - pos ? read : n - pos;
    pending.insert(pending.end(), stream + pos, stream + pos + take);
    pos += take;
    double header[4] = {0, 0, 0, 0};
    const size_t used = scan_all(pending.data(), pending.size(), p, out, records, header);
    if (used == SIZE_MAX) return out;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
    const size_t header_length = static_cast<size_t>(header[0]);
    if (header_length == 0) continue;  // a header cut short: wait for more
    // A frame cut short after its header (its length passed maxPayload): does the rest go straight into its buffer?
    const size_t length = static_cast<size_t>(header[1]);
    const size_t arrived = pending.size() - header_length;
    if (length - arrived < p.min_direct) continue;  // left to the pending buffer, rescanned with the next read
    frame.reset(new uint8_t[length]);
    frame_bits = static_cast<unsigned>(header[2]);
    frame_length = length;
    const bool masked = (p.flags & SCAN_EXPECT_MASKED) != 0;
    const uint32_t key_be = static_cast<uint32_t>(header[3]);
    // What already arrived is copied and unmasked as FrameReader.fill does (a byte loop here, independent of mask.h).
    for (size_t i = 0; i < arrived; i++)
      frame[i] = pending[header_length + i] ^ (masked ? static_cast<uint8_t>(key_be >> (24 - 8 * (i & 3))) : 0);
    pending.clear();
    direct.arm(frame.get() + arrived, length - arrived, masked, key_be, static_cast<unsigned>(arrived & 3));
    armed = true;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init_kernels();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  Params p;
  p.flags = (data[0] & 1 ? SCAN_EXPECT_MASKED : 0) | (data[0] & SCAN_RSV_MASK);
  p.max_payload = static_cast<double>((static_cast<uint32_t>(data[1]) << 8 | data[2]) * 16 + 1);  // up to ~1 MiB
  p.records = 1 + data[3] % 8;
  p.min_direct = 1 + data[4] % 64;
  p.seed = static_cast<uint32_t>(data[5]) << 16 | static_cast<uint32_t>(data[6]) << 8 | data[7];
  const uint8_t* stream = data + 8;
  const size_t n = size - 8;
  const Outcome want = reference(stream, n, p);
  const Outcome got = chunked(stream, n, p);
  if (want.failed != got.failed || want.fault != got.fault) fail("fault", data, size);
  // A stream cut short ends with fewer frames in neither: both saw the same bytes.
  if (want.frames.size() != got.frames.size()) fail("frame count", data, size);
  for (size_t i = 0; i < want.frames.size(); i++)
    if (!(want.frames[i] == got.frames[i])) fail("frame bits or payload", data, size);
  return 0;
}
