// The native transport: one uv_tcp_t per adopted connection, on the loop Node
// itself runs, so the connection costs no net.Socket, no Readable/Writable and
// no WriteWrap. Events go to one JS dispatch function registered by init().
//
// Lifetime: a Conn is freed when its handle has closed AND its JS handle
// object was finalized, whichever comes last. Once reading has started, the
// handle object is held strongly until the close event, as libuv keeps a
// net.Socket alive: a connection in use (a listener waits for its events)
// is never closed by a collection. Before that it is held weakly, so an
// adopted connection JS forgot is closed by the finalizer, not leaked.
#include "transport.h"

#include "contract.h"
#include "direct-read.h"

#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#ifndef _WIN32
#include <climits>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

namespace wsbolt {
namespace {

// Event numbers passed to dispatch(handle, event, arg); src/native/transport-binding.ts mirrors them.
enum Event : int32_t { kData = 1, kEnd = 2, kError = 3, kClose = 4, kDrain = 5, kFlushed = 6 };

// Reads of one loop turn land in a slab of at most this many bytes (uSockets'
// receive buffer is as large); JS gets one Buffer per slab and a view of it
// per read. Large, so that a busy turn is one callback, not one per 64 KiB:
// at 64 KiB the 64 KiB echo ran at 15k msgs/s, at 512 KiB 30k. A small
// message a user keeps does not pin the slab: the engine copies it out
// (src/node/retention.ts).
constexpr size_t kSlabSize = 512 * 1024;
// A slab with less room than this is delivered before the next read, so reads stay large.
constexpr size_t kMinRead = 8 * 1024;
// One read takes at most this much: four 64 KiB messages in one system call
// (uSockets reads up to its 512 KiB buffer). At 64 KiB per read the 64 KiB
// echo made 0.86 reads per message and spent ~7 % more CPU per message.
constexpr size_t kMaxRead = 256 * 1024;
// One connection reads at most this much per loop turn, however much room the
// slab has (libuv reads a socket again while each read fills its buffer). The
// engine applies backpressure once per delivery, so this bounds what a paused
// connection adds past maxBackpressure: the pongs of 256 KiB of pings. One
// read, large enough that a 64 KiB message and its header arrive in one turn
// (at 64 KiB per turn the 64 KiB echo fell from 31k to 19k msgs/s).
constexpr size_t kMaxTurnRead = kMaxRead;
// A connection's reads of a turn (one entry) of at least this much stay in the
// slab, which is then handed to JS itself (a fresh one takes its place): the
// copy of a large read costs about a byte per instruction, an allocation does
// not grow with the size. Smaller entries are copied, packed into pieces.
constexpr size_t kHandOver = 16 * 1024;
// A piece: the small entries of a turn copied side by side into one Buffer of
// at most this much. A message in a piece retains at most 64 KiB, within the
// engine's bound (src/node/retention.ts: max(64 KiB, 64 x its size)), so the
// engine copies none of them; a busy turn of small messages (1 KiB echo, 100
// connections) costs a memcpy per entry instead of a Buffer per message.
constexpr size_t kPieceSize = 64 * 1024;
// A piece is closed only when the next entry (< kHandOver) does not fit, so
// every closed piece holds more than kPieceSize - kHandOver bytes of the slab.
constexpr uint32_t kMaxPieces = kSlabSize / (kPieceSize - kHandOver) + 1;
// Reads per slab; the JS side's meta array holds kMetaPerRead numbers for each.
constexpr uint32_t kMaxBatch = 1024;
constexpr uint32_t kMetaPerRead = 4;
// More buffers than this in one write() call is a caller bug, not a workload.
constexpr uint32_t kMaxWriteBuffers = 1 << 16;
// writev(handle, ...buffers) -> pending bytes: write() for up to kMaxArgBuffers
// buffers passed as arguments, so the usual frame or header + payload needs no array.
constexpr size_t kMaxArgBuffers = 8;
// publish() copies its frame once per connection: it refuses a larger one (the caller,
// src/node/native-fanout.ts, sends far smaller ones past publish() already).
constexpr size_t kMaxPublishBytes = contract::PUBLISH_MAX_BYTES;
// Published bytes one connection holds for the tick's flush at most; beyond it they are written at once (bounded memory).
constexpr size_t kMaxCorked = 1024 * 1024;
// A connection's first cork buffer of a tick has at least this size. Once its frames have left it goes to a
// bounded pool, so a tick of publishes costs no malloc and free per connection, nor a realloc where a busy
// tick made it grow (a buffer grown past kMaxSpareCork is freed instead).
constexpr uint32_t kCorkBlock = 1024;
constexpr uint32_t kMaxSpareCork = 16 * 1024;
constexpr size_t kMaxSpareCorks = 512;
constexpr size_t kMaxSpareCorkBytes = 1024 * 1024;

// Marks handle objects made by adopt(), so an unrelated wrapped object is never taken for a Conn.
constexpr napi_type_tag kConnTag = {0x7773626f6c742d74ULL, 0x72616e73706f7274ULL};

// Live Conns in the process (all threads): a test can watch it return to its baseline.
std::atomic<int64_t> g_live{0};
// Bytes read straight into frame buffers (readInto()) in the process: a test can see the path was taken.
std::atomic<uint64_t> g_direct_bytes{0};
constexpr size_t kMaxDirectRead = size_t{1} << 30;  // one read at most; uv_buf_t lengths are 32-bit on some platforms

struct Conn;

// Entry::offset of a read that went straight into the connection's frame buffer, not into the slab.
constexpr uint32_t kDirectOffset = UINT32_MAX;

// One read waiting in the slab: [offset, offset + length) belongs to conn.
struct Entry {
  Conn* conn;
  uint32_t offset;
  uint32_t length;
  // Where deliver_batch() hands it over: buffers[source] at `at` (0: the slab, 1 + i: piece i).
  uint32_t source;
  uint32_t at;
};

// A cork buffer kept for the next connection that publishes (Module::spare_corks).
struct SpareCork {
  char* data;
  uint32_t capacity;
};

// Per environment (main thread or worker): the dispatch functions and the read slab.
struct Module {
  napi_env env = nullptr;
  napi_ref dispatch = nullptr;
  // dispatchBatch(buffers, count): reads of this turn; meta holds (id, source, offset, length) of each.
  napi_ref dispatch_batch = nullptr;
  napi_ref meta_ref = nullptr;  // a Float64Array of kMetaPerRead * kMaxBatch numbers
  double* meta = nullptr;       // meta_ref's data, looked up at each delivery
  napi_async_context async = nullptr;
  // Every connection reads into this one slab, so an idle connection owns no
  // read memory. It is a JS Buffer (slab_ref holds it): small entries are
  // copied out of it, a turn with a large entry hands it over whole.
  char* slab = nullptr;
  napi_ref slab_ref = nullptr;
  size_t used = 0;
  Entry batch[kMaxBatch];
  uint32_t count = 0;
  bool delivering = false;
  // Runs after the poll phase: all reads of a loop turn enter JS together,
  // and the writes they cause leave together on the following nextTick.
  uv_check_t* check = nullptr;
  // Connection ids (slot + generation << kSlotBits): the hot calls name a
  // connection by number, which is checked here in a few instructions,
  // where unwrapping a handle object costs two property lookups.
  std::vector<Conn*> slots;
  std::vector<uint32_t> generations;
  std::vector<uint32_t> free_slots;
  // Ids of the connections publish() corked since the last flushPublished(): ids, not
  // pointers, so a connection freed meanwhile is simply not found.
  std::vector<double> corked_ids;
  std::vector<SpareCork> spare_corks;
  size_t spare_cork_bytes = 0;  // their capacities in all, at most kMaxSpareCorkBytes
  // Environment teardown (close_at_teardown): the check handle and every
  // connection are closed without events, Node waits for the last close
  // callback, and the module outlives the environment until then (free_module
  // only marks env_gone).
  bool torn_down = false;
  bool env_gone = false;
  uint32_t closes_awaited = 0;
  napi_async_cleanup_hook_handle teardown_hook = nullptr;
};

constexpr int kSlotBits = 20;
constexpr uint32_t kMaxSlots = 1u << kSlotBits;

struct Conn {
  uv_tcp_t tcp;  // first: libuv hands back &tcp, data points back here
  uv_shutdown_t* shutdown_req = nullptr;  // only while end() waits: 80 bytes an idle connection does without
  Module* module = nullptr;
  uint32_t slot = UINT32_MAX;  // in module->slots, until freed
  napi_ref self = nullptr;  // the wrap's reference to the JS handle object: weak, strong while held
  size_t pending = 0;       // bytes accepted by write() and not yet taken by the kernel
  // Running totals since adoption: written() bytes accepted, flushed bytes the
  // kernel took. Writes complete in order, so "everything written before now
  // has left" is flushed >= the written total of that moment.
  uint64_t written = 0;
  uint64_t flushed = 0;
  uint64_t flush_watch = 0;  // emit kFlushed once flushed reaches this (0: nobody waits)
  int deferred_error = 0;   // a failure found inside a JS call, reported from the close callback
  bool js_alive = true;     // the finalizer has not run yet
  bool closing = false;     // uv_close was called
  bool closed = false;      // the close callback has finished
  bool reading = false;
  bool eof = false;         // the peer sent FIN
  bool shutting = false;    // end() was called
  bool shut = false;        // our FIN has left
  bool need_drain = false;  // a write was queued since pending was last 0
  bool held = false;        // self is a strong reference (reading started, not closed yet)
  // Published frames waiting for this tick's write (publish()): malloc'd, null when
  // there are none, so an idle connection owns no output memory. They leave before
  // anything written later, in the same vectored write.
  char* corked = nullptr;
  uint32_t corked_length = 0;
  uint32_t corked_capacity = 0;

  ~Conn() { free(corked); }
  // The frame buffer reads go straight into (readInto()), held by direct_ref
  // until full or closed; separate, so an idle connection pays one pointer.
  DirectRead* direct = nullptr;
  napi_ref direct_ref = nullptr;
};

struct WriteReq {
  uv_write_t req;
  Conn* conn;
  size_t length;
  char data[1];  // `length` bytes follow
};

// Lets go of the frame buffer (full, or the connection closed): libuv reads into the slab again.
void release_direct(Conn* c) {
  if (c->direct_ref != nullptr && !c->module->env_gone) napi_delete_reference(c->module->env, c->direct_ref);
  c->direct_ref = nullptr;
  delete c->direct;
  c->direct = nullptr;
}

// True when some read of c waits in the slab (bytes that come before anything read now).
bool has_slab_entry(const Module* m, const Conn* c) {
  for (uint32_t i = 0; i < m->count; i++)
    if (m->batch[i].conn == c && m->batch[i].offset != kDirectOffset) return true;
  return false;
}

napi_value type_error(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

void make_uv_error(napi_env env, int err, napi_value* out) {
  napi_value code, message;
  napi_create_string_utf8(env, uv_err_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, uv_strerror(err), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, out);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, *out, "errno", errno_value);
}

napi_value throw_uv_error(napi_env env, int err) {
  napi_value error;
  make_uv_error(env, err, &error);
  napi_throw(env, error);
  return nullptr;
}

void maybe_free(Conn* c) {
  if (!c->closed || c->js_alive) return;
  g_live--;
  Module* m = c->module;
  if (c->slot != UINT32_MAX) {
    m->slots[c->slot] = nullptr;
    // The old id never names a later connection (0 is skipped: no id is below 2^kSlotBits).
    if (++m->generations[c->slot] == 0) m->generations[c->slot] = 1;
    m->free_slots.push_back(c->slot);
  }
  delete c;
}

void start_close(Conn* c);
void deliver_batch(Module* m);
void closed_at_teardown(Module* m);
double id_of(const Conn* c);

// Calls dispatch(handle, event, arg) as a top-level callback with an async
// context: process.nextTick callbacks and microtasks run when it returns,
// exactly as after a net.Socket 'data' event (wsbolt flushes on nextTick).
void emit(Conn* c, Event event, int err = 0) {
  if (!c->js_alive || c->self == nullptr || c->module->torn_down) return;
  Module* m = c->module;
  // Reads waiting in the slab came first: they go before this event.
  if (m->count > 0) deliver_batch(m);
  napi_env env = m->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value handle = nullptr, fn = nullptr;
  napi_get_reference_value(env, c->self, &handle);
  if (handle != nullptr && m->dispatch != nullptr) napi_get_reference_value(env, m->dispatch, &fn);
  if (handle != nullptr && fn != nullptr) {
    napi_value argv[3];
    argv[0] = handle;
    napi_create_int32(env, event, &argv[1]);
    napi_status made = napi_ok;
    if (event == kError) {
      make_uv_error(env, err, &argv[2]);
    } else if (event == kFlushed) {
      napi_create_double(env, static_cast<double>(c->flushed), &argv[2]);
    } else {
      napi_get_undefined(env, &argv[2]);
    }
    napi_value result;
    if (made != napi_ok) {
      // No memory for the bytes: losing them silently would corrupt the stream, so the connection goes.
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
      c->deferred_error = UV_ENOMEM;
      start_close(c);
    } else if (napi_make_callback(env, m->async, handle, fn, 3, argv, &result) == napi_pending_exception) {
      // The dispatcher catches listener errors itself; anything left is a bug
      // that must surface as an uncaught exception, not vanish.
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
  napi_close_handle_scope(env, scope);
}

void drop_corked(Conn* c) {
  Module* m = c->module;
  std::vector<SpareCork>& spare = m->spare_corks;
  if (c->corked != nullptr && c->corked_capacity <= kMaxSpareCork && spare.size() < spare.capacity() &&
      m->spare_cork_bytes + c->corked_capacity <= kMaxSpareCorkBytes) {
    spare.push_back(SpareCork{c->corked, c->corked_capacity});  // never reallocates
    m->spare_cork_bytes += c->corked_capacity;
  } else {
    free(c->corked);
  }
  c->corked = nullptr;
  c->corked_length = c->corked_capacity = 0;
}

void on_close(uv_handle_t* h) {
  Conn* c = static_cast<Conn*>(h->data);
  drop_corked(c);  // the connection is gone: nothing it held will leave
  // c may be freed below: no slab entry may point at it afterwards.
  Module* m = c->module;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < m->count; i++)
    if (m->batch[i].conn != c) m->batch[kept++] = m->batch[i];
  m->count = kept;
  release_direct(c);  // libuv is done with the handle: nothing reads into the buffer any more
  if (c->deferred_error != 0) emit(c, kError, c->deferred_error);
  emit(c, kClose);
  if (c->held && c->self != nullptr && !m->env_gone) {
    c->held = false;
    uint32_t count;
    napi_reference_unref(c->module->env, c->self, &count);
  }
  // Set last: a finalizer that runs during the emits must not free c under us.
  c->closed = true;
  maybe_free(c);
  if (m->torn_down) closed_at_teardown(m);
}

void start_close(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  c->reading = false;
  // Queued writes and a pending shutdown complete with UV_ECANCELED before on_close.
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_close);
}

void fail(Conn* c, int err) {
  if (c->closing) return;
  emit(c, kError, err);
  start_close(c);
}

// Puts a fresh slab in place and returns the filled one as it is (no copy); false (nothing changed) without memory for one.
bool hand_over_slab(Module* m, napi_value* out) {
  napi_env env = m->env;
  napi_value filled = nullptr, fresh = nullptr;
  void* data = nullptr;
  napi_ref ref = nullptr;
  if (napi_get_reference_value(env, m->slab_ref, &filled) != napi_ok || filled == nullptr) return false;
  if (napi_create_buffer(env, kSlabSize, &data, &fresh) != napi_ok || napi_create_reference(env, fresh, 1, &ref) != napi_ok) {
    napi_value ignored;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
    return false;
  }
  napi_delete_reference(env, m->slab_ref);
  m->slab_ref = ref;
  m->slab = static_cast<char*>(data);
  *out = filled;
  return true;
}

// A connection closed meanwhile (destroy() from an earlier entry's listener): its input goes with it.
bool input_dropped(const Conn* c) { return c->closing || !c->js_alive || c->self == nullptr; }

// Decides where each read of the batch is handed over (Entry::source, ::at):
// small entries packed into pieces, whose sizes go to piece_size; true when
// some large entry stays in the slab.
bool place_reads(Module* m, uint32_t* piece_size, uint32_t* pieces) {
  bool slab_kept = false;
  *pieces = 0;
  for (uint32_t i = 0; i < m->count; i++) {
    Entry& e = m->batch[i];
    if (e.offset == kDirectOffset || input_dropped(e.conn)) continue;
    const bool fits = *pieces > 0 && piece_size[*pieces - 1] + e.length <= kPieceSize;
    if (e.length >= kHandOver || (!fits && *pieces == kMaxPieces)) {
      e.source = 0;
      e.at = e.offset;
      slab_kept = true;
      continue;
    }
    if (!fits) piece_size[(*pieces)++] = 0;
    e.source = *pieces;
    e.at = piece_size[*pieces - 1];
    piece_size[*pieces - 1] += e.length;
  }
  return slab_kept;
}

// Puts buffer's memory (an ArrayBuffer: JS makes each read's view with
// Buffer.from(memory, offset, length), cheaper than a Buffer's subarray(),
// which looks up .buffer) at index of out; base: where buffer starts in it.
bool set_memory(napi_env env, napi_value out, uint32_t index, napi_value buffer, size_t* base) {
  napi_value memory = nullptr;
  napi_typedarray_type kind;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, buffer, &kind, &length, &data, &memory, base) != napi_ok || memory == nullptr) return false;
  return napi_set_element(env, out, index, memory) == napi_ok;
}

// out[0]: the slab's memory when some read stays in it (handed over whole, or
// a copy without memory for a fresh one), else undefined; out[1 + i]: the
// memory of piece i, the small reads copied in; base[source]: where the
// buffer starts in its memory. false (an exception may be pending) without memory.
bool make_buffers(Module* m, bool slab_kept, const uint32_t* piece_size, uint32_t pieces, napi_value* out, size_t* base) {
  napi_env env = m->env;
  // The filled slab: its Buffer stays alive in this handle scope even when a fresh one takes its place below.
  const char* filled = m->slab;
  napi_value slab = nullptr;
  if (napi_create_array_with_length(env, 1 + pieces, out) != napi_ok) return false;
  base[0] = 0;
  if (!slab_kept) {
    if (napi_get_undefined(env, &slab) != napi_ok || napi_set_element(env, *out, 0, slab) != napi_ok) return false;
  } else if (!hand_over_slab(m, &slab) && napi_create_buffer_copy(env, m->used, m->slab, nullptr, &slab) != napi_ok) {
    return false;
  } else if (!set_memory(env, *out, 0, slab, &base[0])) {
    return false;
  }
  char* piece_data[kMaxPieces];
  for (uint32_t p = 0; p < pieces; p++) {
    napi_value piece;
    void* data = nullptr;
    if (napi_create_buffer(env, piece_size[p], &data, &piece) != napi_ok || !set_memory(env, *out, 1 + p, piece, &base[1 + p])) return false;
    piece_data[p] = static_cast<char*>(data);
  }
  for (uint32_t i = 0; i < m->count; i++) {
    const Entry& e = m->batch[i];
    if (e.offset == kDirectOffset || input_dropped(e.conn) || e.source == 0) continue;
    memcpy(piece_data[e.source - 1] + e.at, filled + e.offset, e.length);
  }
  return true;
}

// Hands the turn's reads to JS in one call: the memory of the slab and of the
// pieces (see kPieceSize), a view of one of them per read (made in JS), every
// connection's reads of the turn at once.
void deliver_batch(Module* m) {
  if (m->delivering) return;
  if (m->count == 0) {
    m->used = 0;  // only reads of connections that closed meanwhile were left
    return;
  }
  m->delivering = true;
  napi_env env = m->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    m->delivering = false;
    return;
  }
  napi_value fn = nullptr, meta = nullptr, buffers = nullptr;
  if (m->dispatch_batch != nullptr) napi_get_reference_value(env, m->dispatch_batch, &fn);
  if (m->meta_ref != nullptr) napi_get_reference_value(env, m->meta_ref, &meta);
  // Looked up again each time: a detached meta array must not be written through a stale pointer.
  napi_typedarray_type kind;
  size_t meta_length = 0;
  void* meta_data = nullptr;
  const bool ready = fn != nullptr && meta != nullptr &&
                     napi_get_typedarray_info(env, meta, &kind, &meta_length, &meta_data, nullptr, nullptr) == napi_ok &&
                     kind == napi_float64_array && meta_length >= kMetaPerRead * kMaxBatch && meta_data != nullptr;
  m->meta = static_cast<double*>(meta_data);
  uint32_t piece_size[kMaxPieces];
  uint32_t pieces = 0;
  size_t base[1 + kMaxPieces];
  const bool slab_kept = ready && place_reads(m, piece_size, &pieces);
  // A turn with only direct reads copies nothing: the bytes are already where JS wants them.
  const bool made = ready && make_buffers(m, slab_kept, piece_size, pieces, &buffers, base);
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->count; i++) {
    const Entry& e = m->batch[i];
    Conn* c = e.conn;
    if (input_dropped(c)) continue;
    if (!made) {
      // No memory for the bytes: losing them silently would corrupt the stream, so the connection goes.
      c->deferred_error = UV_ENOMEM;
      start_close(c);
      continue;
    }
    // Ids, not handle objects: four numbers per read in shared memory, no call to set an array element.
    double* record = m->meta + kMetaPerRead * n;
    record[0] = id_of(c);
    record[1] = e.offset == kDirectOffset ? -1.0 : static_cast<double>(e.source);
    record[2] = e.offset == kDirectOffset ? 0.0 : static_cast<double>(base[e.source] + e.at);
    record[3] = e.length;
    n++;
  }
  m->count = 0;
  m->used = 0;
  if (!made) {
    napi_value ignored;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
  }
  if (n > 0) {
    napi_value argv[2] = {buffers, nullptr};
    napi_create_uint32(env, n, &argv[1]);
    napi_value result;
    if (napi_make_callback(env, m->async, meta, fn, 2, argv, &result) == napi_pending_exception) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
  napi_close_handle_scope(env, scope);
  m->delivering = false;
}

void on_check(uv_check_t* check) {
  Module* m = static_cast<Module*>(check->data);
  uv_check_stop(check);
  deliver_batch(m);
}

// The batch's last entry when it is c's and of the same kind (into its frame
// buffer, or into the slab): the read about to be made, or just made, continues it.
Entry* continued_entry(Module* m, const Conn* c, bool direct) {
  if (m->count == 0) return nullptr;
  Entry& last = m->batch[m->count - 1];
  return last.conn == c && (last.offset == kDirectOffset) == direct ? &last : nullptr;
}

// Never calls into JS: libuv reads on after alloc returns, and JS could have
// stopped this very stream (uv_read_stop clears the callback libuv is about to
// call). A slab without room, or one being delivered, declines the read
// (UV_ENOBUFS); the bytes stay in the kernel, the check handle delivers this
// turn's slab, and the still-readable socket is read again next turn.
//
// A connection with a frame buffer (readInto()) reads into its free end
// instead, at most the bytes the frame still needs, so that the read stops at
// the frame's end and what follows lands in the slab.
void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  Conn* c = static_cast<Conn*>(h->data);
  Module* m = c->module;
  if (c->direct != nullptr) {
    const bool continues = continued_entry(m, c, true) != nullptr;
    if (!m->delivering && (m->count < kMaxBatch || continues)) {
      const size_t room = c->direct->room();
      *buf = uv_buf_init(reinterpret_cast<char*>(c->direct->next()), static_cast<unsigned int>(room < kMaxDirectRead ? room : kMaxDirectRead));
      return;
    }
    // Never the slab instead: those bytes would overtake the ones owed to the frame buffer.
    if (m->check != nullptr && m->count > 0 && !uv_is_active(reinterpret_cast<uv_handle_t*>(m->check))) uv_check_start(m->check, on_check);
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  if (m->delivering || kSlabSize - m->used < kMinRead || m->count == kMaxBatch) {
    if (m->check != nullptr && m->count > 0 && !uv_is_active(reinterpret_cast<uv_handle_t*>(m->check))) uv_check_start(m->check, on_check);
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  // This turn's share taken (kMaxTurnRead): the rest waits in the kernel for the next turn.
  const Entry* turn = continued_entry(m, c, false);
  const size_t taken = turn != nullptr ? turn->length : 0;
  if (taken >= kMaxTurnRead) {
    *buf = uv_buf_init(nullptr, 0);  // on_read already started the check handle for this turn
    return;
  }
  const size_t room = kSlabSize - m->used;
  *buf = uv_buf_init(m->slab + m->used, static_cast<unsigned int>(std::min({room, kMaxRead, kMaxTurnRead - taken})));
}

// A read into c's frame buffer: unmasked where it landed, reported like a slab read (offset kDirectOffset).
void on_direct_read(Conn* c, size_t n) {
  Module* m = c->module;
  if (Entry* last = continued_entry(m, c, true)) {
    last->length += static_cast<uint32_t>(n);
  } else {
    m->batch[m->count++] = Entry{c, kDirectOffset, static_cast<uint32_t>(n), 0, 0};
  }
  g_direct_bytes += n;
  if (c->direct->landed(n)) release_direct(c);
  if (m->check != nullptr && !uv_is_active(reinterpret_cast<uv_handle_t*>(m->check))) uv_check_start(m->check, on_check);
  else if (m->check == nullptr) deliver_batch(m);
}

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  Conn* c = static_cast<Conn*>(s->data);
  if (n > 0 && c->direct != nullptr && buf->base == reinterpret_cast<char*>(c->direct->next())) return on_direct_read(c, static_cast<size_t>(n));
  if (n > 0) {
    Module* m = c->module;
    if (Entry* last = continued_entry(m, c, false)) {
      last->length += static_cast<uint32_t>(n);  // the same connection read again: one view
    } else {
      m->batch[m->count++] = Entry{c, static_cast<uint32_t>(m->used), static_cast<uint32_t>(n), 0, 0};
    }
    m->used += static_cast<size_t>(n);
    if (m->check != nullptr && !uv_is_active(reinterpret_cast<uv_handle_t*>(m->check))) uv_check_start(m->check, on_check);
    else if (m->check == nullptr) deliver_batch(m);
    return;
  }
  if (n == UV_ENOBUFS) return;  // on_alloc declined (a delivery, a full slab, this turn's share taken); libuv reads again next turn
  if (n == 0) return;  // EAGAIN
  if (n == UV_EOF) {
    uv_read_stop(s);
    c->reading = false;
    c->eof = true;
    emit(c, kEnd);
    if (c->shut) start_close(c);
    return;
  }
  fail(c, static_cast<int>(n));
}

void on_write(uv_write_t* req, int status) {
  WriteReq* w = reinterpret_cast<WriteReq*>(req);
  Conn* c = w->conn;
  c->pending -= w->length;
  const size_t length = w->length;
  free(w);
  if (status < 0) {
    if (status != UV_ECANCELED) fail(c, status);
    return;
  }
  c->flushed += length;
  if (c->flush_watch != 0 && c->flushed >= c->flush_watch && !c->closing) {
    c->flush_watch = 0;
    emit(c, kFlushed);
  }
  if (c->pending == 0 && c->need_drain && !c->closing) {
    c->need_drain = false;
    emit(c, kDrain);
  }
}

void on_shutdown(uv_shutdown_t* req, int status) {
  Conn* c = static_cast<Conn*>(req->handle->data);
  // libuv calls this exactly once, with UV_ECANCELED if the handle closes first, always before on_close.
  delete req;
  c->shutdown_req = nullptr;
  if (status == UV_ECANCELED) return;
  if (status < 0) {
    fail(c, status);
    return;
  }
  c->shut = true;
  if (c->eof) start_close(c);
}

void finalize(napi_env env, void* data, void*) {
  Conn* c = static_cast<Conn*>(data);
  c->js_alive = false;
  if (c->self != nullptr) {
    napi_delete_reference(env, c->self);
    c->self = nullptr;
  }
  if (!c->closing) start_close(c);  // forgotten while open: close it, no events
  else if (c->closed) maybe_free(c);
}

// The Conn behind a handle object made by adopt(), or null for anything else.
Conn* unwrap(napi_env env, napi_value value) {
  napi_valuetype type;
  bool tagged = false;
  void* data = nullptr;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_object) return nullptr;
  if (napi_check_object_type_tag(env, value, &kConnTag, &tagged) != napi_ok || !tagged) return nullptr;
  if (napi_unwrap(env, value, &data) != napi_ok) return nullptr;
  return static_cast<Conn*>(data);
}

Module* module_of(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Module*>(data);
}

// slot + generation * 2^kSlotBits: below 2^53, so exact as a JS number.
double id_of(const Conn* c) {
  return static_cast<double>(c->slot) + static_cast<double>(c->module->generations[c->slot]) * kMaxSlots;
}

// The Conn an id names, or null: not an id, or the connection was freed.
Conn* conn_of_id(Module* m, double id) {
  // Within [0, 2^53) and whole: one conversion each way (fanout() asks this once per subscriber).
  if (m == nullptr || !(id >= 0 && id < 9007199254740992.0)) return nullptr;
  const int64_t whole = static_cast<int64_t>(id);
  if (static_cast<double>(whole) != id) return nullptr;
  const uint64_t bits = static_cast<uint64_t>(whole);
  const uint32_t slot = static_cast<uint32_t>(bits & (kMaxSlots - 1));
  const uint64_t generation = bits >> kSlotBits;
  if (slot >= m->slots.size() || m->generations[slot] != generation) return nullptr;
  return m->slots[slot];
}

// The Conn an id names, or null: not a number, not an id, or the connection was freed.
Conn* from_id(napi_env env, napi_value value) {
  double id = 0;
  if (napi_get_value_double(env, value, &id) != napi_ok) return nullptr;
  return conn_of_id(module_of(env), id);
}

// Reads (handle or id, ...rest) and resolves it; throws on anything that is neither.
Conn* conn_arg(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, const char* usage) {
  napi_get_cb_info(env, info, argc, argv, nullptr, nullptr);
  Conn* c = nullptr;
  if (*argc >= 1) {
    napi_valuetype type = napi_undefined;
    napi_typeof(env, argv[0], &type);
    c = type == napi_number ? from_id(env, argv[0]) : unwrap(env, argv[0]);
  }
  if (c == nullptr) type_error(env, usage);
  return c;
}

// Gives c an id; false when every slot is taken.
bool assign_id(Module* m, Conn* c) {
  if (!m->free_slots.empty()) {
    c->slot = m->free_slots.back();
    m->free_slots.pop_back();
  } else {
    if (m->slots.size() >= kMaxSlots) return false;
    c->slot = static_cast<uint32_t>(m->slots.size());
    m->slots.push_back(nullptr);
    m->generations.push_back(1);
  }
  m->slots[c->slot] = c;
  return true;
}

// init(dispatch, dispatchBatch, meta): dispatch(handle, event, arg) gets
// every event but data; dispatchBatch(memory, count) gets the reads, with
// meta[4i .. 4i + 3] = id, source, offset and length of read i: bytes
// [offset, offset + length) of the ArrayBuffer memory[source], or, for source -1, length
// bytes read into the connection's frame buffer (readInto()).
napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const char* usage = "transport.init(dispatch, dispatchBatch, meta): two functions and a Float64Array(4096) expected";
  napi_valuetype type0 = napi_undefined, type1 = napi_undefined;
  bool is_typedarray = false;
  if (argc < 3 || napi_typeof(env, argv[0], &type0) != napi_ok || type0 != napi_function ||
      napi_typeof(env, argv[1], &type1) != napi_ok || type1 != napi_function ||
      napi_is_typedarray(env, argv[2], &is_typedarray) != napi_ok || !is_typedarray)
    return type_error(env, usage);
  napi_typedarray_type kind;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[2], &kind, &length, &data, nullptr, nullptr) != napi_ok || kind != napi_float64_array ||
      length < kMetaPerRead * kMaxBatch || data == nullptr)
    return type_error(env, usage);
  Module* m = module_of(env);
  if (m->delivering) return type_error(env, "transport.init(): not from inside a delivery");
  napi_ref* refs[3] = {&m->dispatch, &m->dispatch_batch, &m->meta_ref};
  for (int i = 0; i < 3; i++) {
    if (*refs[i] != nullptr) napi_delete_reference(env, *refs[i]);
    napi_create_reference(env, argv[i], 1, refs[i]);
  }
  return undefined(env);
}

// adopt(fd[, owner]) -> handle: a duplicate of fd, a connected TCP socket, opened on Node's loop.
// The caller keeps fd and must release it (destroy Node's socket) without shutting it down.
// owner, when given, becomes the handle (the JS object that stands for the connection: no
// second object per connection); it must be a plain object not wrapped yet.
napi_value Adopt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_valuetype owner_type = napi_undefined;
  if (argc >= 2 && napi_typeof(env, argv[1], &owner_type) != napi_ok) return nullptr;
  if (owner_type != napi_undefined && owner_type != napi_object)
    return type_error(env, "transport.adopt(fd, owner): owner must be an object");
  double value = -1;
  if (argc < 1 || napi_get_value_double(env, argv[0], &value) != napi_ok || !(value >= 0) || value > 2147483647.0 ||
      value != std::trunc(value))
    return type_error(env, "transport.adopt(fd): a descriptor (integer >= 0) expected");
#ifdef _WIN32
  return type_error(env, "transport.adopt(): not supported on Windows");
#else
  const int fd = static_cast<int>(value);
  // Refuse anything but a connected TCP socket before libuv sees it: a file,
  // a pipe or a UDP socket must give an error, not a half-working handle.
  int so_type = 0;
  socklen_t so_length = sizeof so_type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &so_type, &so_length) != 0 || so_type != SOCK_STREAM)
    return type_error(env, "transport.adopt(fd): fd is not a stream socket");
  sockaddr_storage address;
  socklen_t address_length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0 ||
      (address.ss_family != AF_INET && address.ss_family != AF_INET6))
    return type_error(env, "transport.adopt(fd): fd is not a TCP socket");
  address_length = sizeof address;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0)
    return type_error(env, "transport.adopt(fd): the socket is not connected");

  Module* m = module_of(env);
  napi_value handle = argv[1];
  bool tagged = false;
  if (owner_type == napi_object && (napi_check_object_type_tag(env, handle, &kConnTag, &tagged) != napi_ok || tagged))
    return type_error(env, "transport.adopt(fd, owner): owner already stands for a connection");
  if (owner_type == napi_undefined && napi_create_object(env, &handle) != napi_ok) return nullptr;
  const int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return throw_uv_error(env, uv_translate_sys_error(errno));
  uv_loop_t* loop = nullptr;
  Conn* c = new (std::nothrow) Conn();
  if (c == nullptr || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    delete c;
    close(dup_fd);
    return throw_uv_error(env, UV_ENOMEM);
  }
  c->module = m;
  if (!assign_id(m, c)) {
    delete c;
    close(dup_fd);
    return throw_uv_error(env, UV_EMFILE);
  }
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  const int opened = uv_tcp_open(&c->tcp, dup_fd);
  if (opened < 0) {
    close(dup_fd);
    c->js_alive = false;
    g_live++;  // maybe_free in on_close takes it back
    start_close(c);
    return throw_uv_error(env, opened);
  }
  uv_tcp_nodelay(&c->tcp, 1);
  g_live++;
  // The wrap's own reference is self (weak, count 0): one napi reference and one V8 handle per connection instead
  // of two. It is ours to delete, which finalize() does, the one place the N-API documents for it.
  if (napi_type_tag_object(env, handle, &kConnTag) != napi_ok ||
      napi_wrap(env, handle, c, finalize, nullptr, &c->self) != napi_ok) {
    c->js_alive = false;
    c->self = nullptr;
    start_close(c);
    return type_error(env, "transport.adopt(): could not wrap the handle");
  }
  return handle;
#endif
}

napi_value ReadStart(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.readStart(handle): a transport handle expected");
  if (c == nullptr) return nullptr;
  if (!c->closing && !c->eof && !c->reading) {
    const int r = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
    if (r < 0) {
      c->deferred_error = r;
      start_close(c);
    } else {
      c->reading = true;
      if (!c->held) {
        c->held = true;
        uint32_t count;
        napi_reference_ref(env, c->self, &count);
      }
    }
  }
  return undefined(env);
}

// readInto(handle, buffer, key, phase) -> whether the connection's next reads
// go straight into buffer (the free end of a frame's buffer, every byte of it
// still owed by the peer), unmasked in place with key (big-endian; -1: not
// masked) from `phase` bytes into it, until it is full; each read arrives as
// a batch entry with offset -1. false when that would reorder bytes (reads of
// it wait in the slab), one is already under way, or the connection closes.
bool get_bytes(napi_env env, napi_value value, char** data, size_t* length);

napi_value ReadInto(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.readInto(handle, buffer, key, phase): a transport handle expected");
  if (c == nullptr) return nullptr;
  char* data = nullptr;
  size_t length = 0;
  double key = 0, phase = 0;
  if (argc < 4 || !get_bytes(env, argv[1], &data, &length) || length == 0 || napi_get_value_double(env, argv[2], &key) != napi_ok ||
      napi_get_value_double(env, argv[3], &phase) != napi_ok || !(key == -1 || (key >= 0 && key <= 4294967295.0)) || key != std::trunc(key) ||
      !(phase >= 0 && phase <= 3) || phase != std::trunc(phase))
    return type_error(env, "transport.readInto(handle, buffer, key, phase): a non-empty Uint8Array, a key (uint32 or -1) and a phase (0-3) expected");
  napi_value result;
  const bool can = !c->closing && c->direct == nullptr && !has_slab_entry(c->module, c);
  if (can) {
    DirectRead* d = new (std::nothrow) DirectRead();
    napi_ref ref = nullptr;
    if (d != nullptr && napi_create_reference(env, argv[1], 1, &ref) == napi_ok) {
      d->arm(reinterpret_cast<uint8_t*>(data), length, key >= 0, key >= 0 ? static_cast<uint32_t>(key) : 0, static_cast<unsigned>(phase));
      c->direct = d;
      c->direct_ref = ref;
    } else {
      delete d;
    }
  }
  napi_get_boolean(env, c->direct != nullptr && can, &result);
  return result;
}

napi_value ReadStop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.readStop(handle): a transport handle expected");
  if (c == nullptr) return nullptr;
  if (!c->closing && c->reading) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->reading = false;
  }
  return undefined(env);
}

bool get_bytes(napi_env env, napi_value value, char** data, size_t* length) {
  void* d = nullptr;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, value, &type, length, &d, nullptr, nullptr) == napi_ok) {
    if (type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array) return false;
  } else if (napi_get_buffer_info(env, value, &d, length) != napi_ok) {
    return false;
  }
  *data = static_cast<char*>(d);
  return true;
}

// One non-blocking vectored write on the connection's socket: bytes taken, or
// 0 when the kernel takes none now or reports an error (the uv_write that
// queues the rest reports it). Only while nothing is queued (c->pending == 0):
// libuv's queue is empty then, so order holds.
size_t try_send(Conn* c, const uv_buf_t* bufs, uint32_t count) {
#if defined(_WIN32) || !defined(MSG_NOSIGNAL)
  const int r = uv_try_write(reinterpret_cast<uv_stream_t*>(&c->tcp), bufs, count);
  return r > 0 ? static_cast<size_t>(r) : 0;
#else
  // send()/sendmsg() rather than libuv's write()/writev(): the socket calls
  // skip the file layer (under broadcast the kernel's write path cost about
  // 4 % of the server's CPU against 2.5 % for sendto). uv_buf_t is laid out
  // as struct iovec on Unix (libuv documents it).
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&c->tcp), &fd) != 0) return 0;
  ssize_t n;
  do {
    if (count == 1) {
      n = send(fd, bufs[0].base, bufs[0].len, MSG_NOSIGNAL);
    } else {
      struct msghdr message;
      memset(&message, 0, sizeof message);
      message.msg_iov = reinterpret_cast<struct iovec*>(const_cast<uv_buf_t*>(bufs));
      message.msg_iovlen = std::min<uint32_t>(count, IOV_MAX);
      n = sendmsg(fd, &message, MSG_NOSIGNAL);
    }
  } while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<size_t>(n) : 0;
#endif
}

// One vectored try now; the rest is copied into one queued uv_write, so
// callers may reuse their buffers at once.
void write_now_or_queue(Conn* c, const uv_buf_t* bufs, uint32_t count, size_t total) {
  uv_stream_t* stream = reinterpret_cast<uv_stream_t*>(&c->tcp);
  size_t done = 0;
  if (c->pending == 0) {
    done = try_send(c, bufs, count);
    c->flushed += done;
    // A hard error here is reported by the uv_write below, asynchronously.
  }
  if (done < total) {
    const size_t rest = total - done;
    WriteReq* w = static_cast<WriteReq*>(malloc(offsetof(WriteReq, data) + rest));
    if (w == nullptr) {
      c->deferred_error = UV_ENOMEM;
      start_close(c);
    } else {
      size_t skip = done;
      char* out = w->data;
      for (uint32_t i = 0; i < count; i++) {
        const uv_buf_t& b = bufs[i];
        if (skip >= b.len) {
          skip -= b.len;
          continue;
        }
        memcpy(out, b.base + skip, b.len - skip);
        out += b.len - skip;
        skip = 0;
      }
      w->conn = c;
      w->length = rest;
      const uv_buf_t tail = uv_buf_init(w->data, static_cast<unsigned int>(rest));
      const int r = rest == tail.len ? uv_write(&w->req, stream, &tail, 1, on_write) : UV_E2BIG;
      if (r < 0) {
        free(w);
        c->deferred_error = r;
        start_close(c);
      } else {
        c->pending += rest;
        c->need_drain = true;
      }
    }
  }
}

// Bytes accepted and not yet taken by the kernel, published ones waiting for the tick's flush included.
double pending_of(const Conn* c) { return static_cast<double>(c->pending) + c->corked_length; }

// Writes bufs after what publish() corked for this connection, in one vectored write.
void send_bytes(Conn* c, const uv_buf_t* bufs, uint32_t count, size_t total) {
  if (c->closing || c->shutting) return;
  c->written += total;  // corked bytes were counted when corked
  if (c->corked_length == 0) {
    if (total > 0) write_now_or_queue(c, bufs, count, total);
    return;
  }
  uv_buf_t stack_all[17];
  std::vector<uv_buf_t> heap_all;
  uv_buf_t* all = stack_all;
  if (count + 1 > 17) {
    heap_all.resize(count + 1);
    all = heap_all.data();
  }
  all[0] = uv_buf_init(c->corked, c->corked_length);
  for (uint32_t i = 0; i < count; i++) all[i + 1] = bufs[i];
  write_now_or_queue(c, all, count + 1, total + c->corked_length);
  drop_corked(c);
}

// The common part of write() and writev(): returns the pending bytes after the write.
napi_value write_bufs(napi_env env, Conn* c, const uv_buf_t* bufs, uint32_t count, size_t total) {
  send_bytes(c, bufs, count, total);
  napi_value result;
  napi_create_double(env, pending_of(c), &result);
  return result;
}

// write(handle, buffers) -> pending bytes. One vectored try now; the rest is
// copied into one queued uv_write, so callers may reuse their buffers at once.
// Errors are never thrown for the socket's sake: they arrive as events.
napi_value Write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.write(handle, buffers): a transport handle expected");
  if (c == nullptr) return nullptr;
  bool is_array = false;
  uint32_t count = 0;
  if (argc < 2 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &count) != napi_ok || count > kMaxWriteBuffers)
    return type_error(env, "transport.write(handle, buffers): an array of Uint8Arrays expected");
  // The usual write is a frame header and a payload or two: no allocation for those.
  uv_buf_t stack_bufs[16];
  std::vector<uv_buf_t> heap_bufs;
  uv_buf_t* bufs = stack_bufs;
  if (count > 16) {
    heap_bufs.resize(count);
    bufs = heap_bufs.data();
  }
  size_t total = 0;
  // Elements first, pointers after: an element getter (user code) could
  // otherwise detach a buffer whose pointer was already taken.
  napi_value stack_items[16];
  std::vector<napi_value> heap_items;
  napi_value* items = stack_items;
  if (count > 16) {
    heap_items.resize(count);
    items = heap_items.data();
  }
  for (uint32_t i = 0; i < count; i++) {
    if (napi_get_element(env, argv[1], i, &items[i]) != napi_ok) return nullptr;
  }
  for (uint32_t i = 0; i < count; i++) {
    char* data = nullptr;
    size_t length = 0;
    if (!get_bytes(env, items[i], &data, &length))
      return type_error(env, "transport.write(handle, buffers): every element must be a Uint8Array");
    bufs[i] = uv_buf_init(data, static_cast<unsigned int>(length));
    if (bufs[i].len != length) return type_error(env, "transport.write(): a buffer is too large");
    total += length;
  }
  return write_bufs(env, c, bufs, count, total);
}

// writev(handle, ...buffers) -> pending bytes (see kMaxArgBuffers).
napi_value Writev(napi_env env, napi_callback_info info) {
  size_t argc = 1 + kMaxArgBuffers;
  napi_value argv[1 + kMaxArgBuffers];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.writev(handle, ...buffers): a transport handle expected");
  if (c == nullptr) return nullptr;
  if (argc < 2 || argc > 1 + kMaxArgBuffers) return type_error(env, "transport.writev(handle, ...buffers): 1 to 8 Uint8Arrays expected");
  uv_buf_t bufs[kMaxArgBuffers];
  size_t total = 0;
  for (size_t i = 1; i < argc; i++) {
    char* data = nullptr;
    size_t length = 0;
    if (!get_bytes(env, argv[i], &data, &length)) return type_error(env, "transport.writev(handle, ...buffers): every buffer must be a Uint8Array");
    bufs[i - 1] = uv_buf_init(data, static_cast<unsigned int>(length));
    if (bufs[i - 1].len != length) return type_error(env, "transport.writev(): a buffer is too large");
    total += length;
  }
  return write_bufs(env, c, bufs, static_cast<uint32_t>(argc - 1), total);
}

// Appends frame bytes to c->corked, which has room for them.
inline void append_corked(Conn* c, const uv_buf_t* bufs, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    if (bufs[i].len == 0) continue;  // a detached view: no pointer to copy from
    memcpy(c->corked + c->corked_length, bufs[i].base, bufs[i].len);
    c->corked_length += static_cast<uint32_t>(bufs[i].len);
  }
}

// cork() where c holds published bytes already and the frame fits after them: the usual case within a tick.
bool cork_slow(Conn* c, const uv_buf_t* bufs, uint32_t count, size_t total);
inline bool cork(Conn* c, const uv_buf_t* bufs, uint32_t count, size_t total) {
  const size_t needed = c->corked_length + total;
  if (c->corked_length == 0 || needed > c->corked_capacity || needed > kMaxCorked) return cork_slow(c, bufs, count, total);
  append_corked(c, bufs, count);
  c->written += total;
  return true;
}

// Appends a frame to what c holds for the tick's flush; false when memory ran out (the connection then closes).
bool cork_slow(Conn* c, const uv_buf_t* bufs, uint32_t count, size_t total) {
  // Past the bound the held bytes leave now, ahead of this frame: order kept, memory bounded.
  if (c->corked_length + total > kMaxCorked) send_bytes(c, nullptr, 0, 0);
  if (c->closing) return false;
  const size_t needed = c->corked_length + total;
  Module* m = c->module;
  std::vector<SpareCork>& spare = m->spare_corks;
  if (c->corked == nullptr && !spare.empty()) {
    c->corked = spare.back().data;
    c->corked_capacity = spare.back().capacity;
    m->spare_cork_bytes -= c->corked_capacity;
    spare.pop_back();
  }
  if (needed > c->corked_capacity) {
    size_t capacity = c->corked_capacity == 0 ? kCorkBlock : 2 * static_cast<size_t>(c->corked_capacity);
    while (capacity < needed) capacity *= 2;
    char* grown = static_cast<char*>(realloc(c->corked, capacity));
    if (grown == nullptr) {
      c->deferred_error = UV_ENOMEM;
      start_close(c);
      return false;
    }
    c->corked = grown;
    c->corked_capacity = static_cast<uint32_t>(capacity);
  }
  if (c->corked_length == 0) m->corked_ids.push_back(id_of(c));
  append_corked(c, bufs, count);
  c->written += total;
  return true;
}

// Reads a Float64Array argument; false for anything else.
bool get_float64s(napi_env env, napi_value value, double** data, size_t* length) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  void* d = nullptr;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, value, &type, length, &d, nullptr, nullptr) != napi_ok || type != napi_float64_array)
    return false;
  *data = static_cast<double*>(d);
  return true;
}

// A non-negative integer count no larger than `most`; false for anything else (no coercion).
bool get_count(napi_env env, napi_value value, double most, double* count) {
  napi_valuetype type = napi_undefined;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_number && napi_get_value_double(env, value, count) == napi_ok &&
         *count >= 0 && *count == std::trunc(*count) && *count <= most;
}

// An open connection whose output may still take a published frame (not closing, not ended, still wanted by JS).
bool takes_published(const Conn* c) { return c != nullptr && !c->closing && !c->shutting && c->js_alive; }

// The frame's parts, argv[first..argc): byte buffers of at most kMaxPublishBytes together (bufs holds kMaxArgBuffers).
bool get_frame_parts(napi_env env, napi_value* argv, size_t first, size_t argc, uv_buf_t* bufs, size_t* total) {
  *total = 0;
  for (size_t i = first; i < argc; i++) {
    char* data = nullptr;
    size_t length = 0;
    if (!get_bytes(env, argv[i], &data, &length)) return false;
    bufs[i - first] = uv_buf_init(data, static_cast<unsigned int>(length));
    *total += length;
  }
  return *total <= kMaxPublishBytes;
}

// publish(ids, out, count, ...frame) -> how many connections took the frame.
// For i < count, appends the frame (1 to 8 Uint8Arrays, at most kMaxPublishBytes
// in all) to the output of the connection ids[i] names, after whatever it
// holds, to leave with the tick's flushPublished() or its next write(), whichever
// comes first. out[i] = its pending bytes after, or -1 when ids[i] names no open,
// writable connection (stale, closed, ended: a race, not a caller bug). ids and
// out may be the same array. No JS runs here, so no pointer taken can go stale.
napi_value Publish(napi_env env, napi_callback_info info) {
  size_t argc = 3 + kMaxArgBuffers;
  napi_value argv[3 + kMaxArgBuffers];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const char* usage = "transport.publish(ids, out, count, ...frame): two Float64Arrays, a count within both, 1 to 8 Uint8Arrays of 64 KiB in all";
  double* ids = nullptr;
  double* out = nullptr;
  size_t ids_length = 0, out_length = 0;
  double count = -1;
  if (argc < 4 || argc > 3 + kMaxArgBuffers || !get_float64s(env, argv[0], &ids, &ids_length) || !get_float64s(env, argv[1], &out, &out_length) ||
      !get_count(env, argv[2], static_cast<double>(std::min(ids_length, out_length)), &count))
    return type_error(env, usage);
  uv_buf_t bufs[kMaxArgBuffers];
  size_t total = 0;
  if (!get_frame_parts(env, argv, 3, argc, bufs, &total)) return type_error(env, usage);
  const uint32_t frames = static_cast<uint32_t>(argc - 3);
  const uint32_t n = static_cast<uint32_t>(count);
  Module* m = module_of(env);
  uint32_t took = 0;
  for (uint32_t i = 0; i < n; i++) {
    Conn* c = conn_of_id(m, ids[i]);
    if (!takes_published(c) || total == 0 || !cork(c, bufs, frames, total)) {
      out[i] = -1;
      continue;
    }
    out[i] = pending_of(c);
    took++;
  }
  napi_value result;
  napi_create_uint32(env, took, &result);
  return result;
}

// Reads a Uint8Array argument of at least `minimum` bytes; false for anything else (a detached one has none).
bool get_flags(napi_env env, napi_value value, const uint8_t** data, size_t minimum) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* d = nullptr;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, value, &type, &length, &d, nullptr, nullptr) != napi_ok || type != napi_uint8_array || length < minimum ||
      d == nullptr)
    return false;
  *data = static_cast<const uint8_t*>(d);
  return true;
}

// fanout(ids, count, except, limit, ready, deferred, ...frame) -> how many were deferred.
// publish() for a topic's subscribers as they are, with the engine's decision
// mirrored per connection in `ready` (a Uint8Array of kMaxSlots flags by id
// slot, written by JS: the policy stays there). For i < count, skipping
// ids[i] == except: appends the frame (as publish()) to the connection ids[i]
// names when it is open, writable, ready and holds at most limit bytes with
// the frame; otherwise writes i to deferred[k++], for JS to decide (stale ids
// included: JS still holds them). No JS runs here, so no pointer taken can go stale.
napi_value Fanout(napi_env env, napi_callback_info info) {
  size_t argc = 6 + kMaxArgBuffers;
  napi_value argv[6 + kMaxArgBuffers];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const char* usage =
      "transport.fanout(ids, count, except, limit, ready, deferred, ...frame): a Float64Array, a count within it and deferred, two numbers, "
      "a Uint8Array(2^20), a Float64Array, 1 to 8 Uint8Arrays of 64 KiB in all";
  double* ids = nullptr;
  double* deferred = nullptr;
  size_t ids_length = 0, deferred_length = 0;
  const uint8_t* ready = nullptr;
  double count = -1, except = 0, limit = -1;
  napi_valuetype except_type = napi_undefined;
  if (argc < 7 || argc > 6 + kMaxArgBuffers || !get_float64s(env, argv[0], &ids, &ids_length) ||
      !get_float64s(env, argv[5], &deferred, &deferred_length) ||
      !get_count(env, argv[1], static_cast<double>(std::min(ids_length, deferred_length)), &count) ||
      napi_typeof(env, argv[2], &except_type) != napi_ok || except_type != napi_number || napi_get_value_double(env, argv[2], &except) != napi_ok ||
      !get_count(env, argv[3], 9007199254740991.0, &limit) || !get_flags(env, argv[4], &ready, kMaxSlots))
    return type_error(env, usage);
  uv_buf_t bufs[kMaxArgBuffers];
  size_t total = 0;
  if (!get_frame_parts(env, argv, 6, argc, bufs, &total)) return type_error(env, usage);
  const uint32_t frames = static_cast<uint32_t>(argc - 6);
  const uint32_t n = static_cast<uint32_t>(count);
  // What a connection may hold before the frame; none when the frame alone passes the limit (or is empty: detached).
  const bool fits = total > 0 && static_cast<double>(total) <= limit;
  const size_t room = fits ? static_cast<size_t>(limit) - total : 0;
  Module* m = module_of(env);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    const double id = ids[i];
    if (id == except) continue;
    Conn* c = conn_of_id(m, id);
    if (!fits || !takes_published(c) || ready[c->slot] == 0 || c->pending + c->corked_length > room || !cork(c, bufs, frames, total))
      deferred[k++] = i;
  }
  napi_value result;
  napi_create_uint32(env, k, &result);
  return result;
}

// flushPublished(out) -> how many connections were left with bytes pending.
// Every connection's published frames of this tick leave, one vectored write
// each; for each connection whose write the kernel did not take whole,
// (id, pending bytes) go to out while it has room, so JS can count them
// (fanout() corks without JS noting each connection).
napi_value FlushPublished(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double* out = nullptr;
  size_t out_length = 0;
  // A detached array has no room: the flush happens, nothing is reported.
  if (argc < 1 || !get_float64s(env, argv[0], &out, &out_length))
    return type_error(env, "transport.flushPublished(out): a Float64Array expected");
  Module* m = module_of(env);
  uint32_t left = 0;
  if (m != nullptr) {
    // Swapped out first: nothing below adds to it, but a later publish() starts a fresh list.
    std::vector<double> ids;
    ids.swap(m->corked_ids);
    for (double id : ids) {
      Conn* c = conn_of_id(m, id);
      // A connection is listed again once its corked bytes left meanwhile and it corked more: only the visit that writes counts.
      if (c == nullptr || c->corked_length == 0) continue;
      send_bytes(c, nullptr, 0, 0);
      if (c->closing || c->pending == 0) continue;
      if (2 * static_cast<size_t>(left) + 1 < out_length) {
        out[2 * left] = id;
        out[2 * left + 1] = pending_of(c);
      }
      left++;
    }
    // Kept for the next tick: the list's capacity is reused, not reallocated every time.
    if (m->corked_ids.empty()) {
      ids.clear();
      ids.swap(m->corked_ids);
    }
  }
  napi_value result;
  napi_create_uint32(env, left, &result);
  return result;
}

napi_value Pending(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.pending(handle): a transport handle expected");
  if (c == nullptr) return nullptr;
  napi_value result;
  napi_create_double(env, pending_of(c), &result);
  return result;
}

// watchFlush(handle, target) -> -1 when the kernel has taken every byte up to
// target (a running total of written bytes; -1 means "all written so far"),
// else the target, after arming one kFlushed event for when it has.
napi_value WatchFlush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.watchFlush(handle, target): a transport handle expected");
  if (c == nullptr) return nullptr;
  double target = 0;
  if (argc < 2 || napi_get_value_double(env, argv[1], &target) != napi_ok || !(target == -1 || (target >= 0 && target <= 9007199254740991.0)) ||
      target != std::trunc(target))
    return type_error(env, "transport.watchFlush(handle, target): an integer >= -1 expected");
  const uint64_t mark = target < 0 ? c->written : static_cast<uint64_t>(target);
  napi_value result;
  if (c->flushed >= mark || c->closing) {
    napi_create_double(env, -1, &result);
    return result;
  }
  if (c->flush_watch == 0 || mark < c->flush_watch) c->flush_watch = mark;
  napi_create_double(env, static_cast<double>(mark), &result);
  return result;
}

// end(handle): FIN after the queued writes; the handle closes once both sides have ended.
napi_value End(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.end(handle): a transport handle expected");
  if (c == nullptr) return nullptr;
  if (!c->closing && !c->shutting) {
    send_bytes(c, nullptr, 0, 0);  // published frames of this tick go before the FIN
    c->shutting = true;
    c->shutdown_req = new (std::nothrow) uv_shutdown_t();
    const int r = c->shutdown_req == nullptr ? UV_ENOMEM : uv_shutdown(c->shutdown_req, reinterpret_cast<uv_stream_t*>(&c->tcp), on_shutdown);
    if (r < 0) {
      delete c->shutdown_req;
      c->shutdown_req = nullptr;
      c->deferred_error = r;
      start_close(c);
    }
  }
  return undefined(env);
}

// destroy(handle): close now, queued bytes dropped; the close event follows, once.
napi_value Destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.destroy(handle): a transport handle expected");
  if (c == nullptr) return nullptr;
  // What was published before still leaves as far as the kernel takes it now, as a send flushed before destroy() does.
  send_bytes(c, nullptr, 0, 0);
  start_close(c);
  return undefined(env);
}

// peer(handle) -> [address, port], or null once the socket is gone.
napi_value Peer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Conn* c = conn_arg(env, info, &argc, argv, "transport.peer(handle): a transport handle expected");
  if (c == nullptr) return nullptr;
  napi_value result;
  napi_get_null(env, &result);
  if (c->closing) return result;
  sockaddr_storage address;
  int length = sizeof address;
  if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&address), &length) != 0) return result;
  char name[64] = {0};
  int port = 0;
  if (address.ss_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&address);
    uv_ip4_name(a, name, sizeof name);
    port = ntohs(a->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&address);
    uv_ip6_name(a, name, sizeof name);
    port = ntohs(a->sin6_port);
  } else {
    return result;
  }
  napi_value pair[2];
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &pair[0]);
  napi_create_int32(env, port, &pair[1]);
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, pair[0]);
  napi_set_element(env, result, 1, pair[1]);
  return result;
}

// id(handle) -> the number the other functions also accept in place of the handle, while it lives.
napi_value Id(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Conn* c = argc >= 1 ? unwrap(env, argv[0]) : nullptr;
  if (c == nullptr) return type_error(env, "transport.id(handle): a transport handle expected");
  napi_value result;
  napi_create_double(env, id_of(c), &result);
  return result;
}

napi_value DirectBytes(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_double(env, static_cast<double>(g_direct_bytes.load()), &result);
  return result;
}

napi_value LiveCount(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_double(env, static_cast<double>(g_live.load()), &result);
  return result;
}

void delete_module(Module* m) {
  for (const SpareCork& spare : m->spare_corks) free(spare.data);
  delete m;
}

void free_module(napi_env, void* data, void*) {
  // The async context and the references go with the environment. The check
  // handle and every connection were closed by close_at_teardown, which runs
  // first (a hook added later); while close callbacks are still to come, the
  // module stays for them (closed_at_teardown frees it after the last).
  Module* m = static_cast<Module*>(data);
  m->env_gone = true;
  if (m->closes_awaited == 0) delete_module(m);
}

// One close callback awaited at teardown has run. After the last, Node may go
// on (and a worker's environment unload the addon), and the module goes if
// the environment has.
void closed_at_teardown(Module* m) {
  if (--m->closes_awaited > 0) return;
  napi_remove_async_cleanup_hook(m->teardown_hook);
  if (m->env_gone) delete_module(m);
}

// At environment teardown the check handle and every connection still open
// are closed, without events (JS can no longer run), and Node waits for their
// close callbacks: a worker's environment unloads the addon once its cleanup
// is over, so a close callback still pending then ran in unmapped code (a
// worker that loaded wsbolt crashed the process as it ended), and a worker's
// loop must close empty.
void close_at_teardown(napi_async_cleanup_hook_handle, void* arg) {
  Module* m = static_cast<Module*>(arg);
  m->torn_down = true;
  m->count = 0;  // reads not yet delivered go with their connections
  m->closes_awaited = 1;  // held until every close below has started
  if (m->check != nullptr) {
    m->closes_awaited++;
    uv_close(reinterpret_cast<uv_handle_t*>(m->check), [](uv_handle_t* h) {
      Module* owner = static_cast<Module*>(h->data);
      delete reinterpret_cast<uv_check_t*>(h);
      closed_at_teardown(owner);
    });
    m->check = nullptr;
  }
  for (Conn* c : m->slots) {
    if (c == nullptr || c->closed) continue;
    m->closes_awaited++;
    start_close(c);  // a no-op for one already closing: its callback is awaited all the same
  }
  closed_at_teardown(m);
}

}  // namespace

void register_transport(napi_env env, napi_value exports) {
  Module* m = new (std::nothrow) Module();
  if (m == nullptr) return;
  m->env = env;
  m->spare_corks.reserve(kMaxSpareCorks);  // drop_corked() relies on it: a push never allocates
  napi_value slab;
  void* slab_data = nullptr;
  if (napi_create_buffer(env, kSlabSize, &slab_data, &slab) != napi_ok || napi_create_reference(env, slab, 1, &m->slab_ref) != napi_ok) {
    delete m;
    return;  // no transport: the JS side uses the stream path
  }
  m->slab = static_cast<char*>(slab_data);
  napi_value name;
  napi_create_string_utf8(env, "wsbolt:transport", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &m->async);
  napi_set_instance_data(env, m, free_module, nullptr);
  // Without the hook nothing could close the check handle in time at teardown: then there is none, and every read
  // is delivered at once.
  uv_loop_t* loop = nullptr;
  uv_check_t* check = new (std::nothrow) uv_check_t();
  if (napi_add_async_cleanup_hook(env, close_at_teardown, m, &m->teardown_hook) == napi_ok && check != nullptr &&
      napi_get_uv_event_loop(env, &loop) == napi_ok && uv_check_init(loop, check) == 0) {
    check->data = m;
    uv_unref(reinterpret_cast<uv_handle_t*>(check));
    m->check = check;
  } else {
    delete check;
  }

  const auto attrs = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
  const napi_property_descriptor functions[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, attrs, nullptr},
      {"adopt", nullptr, Adopt, nullptr, nullptr, nullptr, attrs, nullptr},
      {"readStart", nullptr, ReadStart, nullptr, nullptr, nullptr, attrs, nullptr},
      {"readStop", nullptr, ReadStop, nullptr, nullptr, nullptr, attrs, nullptr},
      {"readInto", nullptr, ReadInto, nullptr, nullptr, nullptr, attrs, nullptr},
      {"directBytes", nullptr, DirectBytes, nullptr, nullptr, nullptr, attrs, nullptr},
      {"write", nullptr, Write, nullptr, nullptr, nullptr, attrs, nullptr},
      {"writev", nullptr, Writev, nullptr, nullptr, nullptr, attrs, nullptr},
      {"pending", nullptr, Pending, nullptr, nullptr, nullptr, attrs, nullptr},
      {"publish", nullptr, Publish, nullptr, nullptr, nullptr, attrs, nullptr},
      {"fanout", nullptr, Fanout, nullptr, nullptr, nullptr, attrs, nullptr},
      {"flushPublished", nullptr, FlushPublished, nullptr, nullptr, nullptr, attrs, nullptr},
      {"watchFlush", nullptr, WatchFlush, nullptr, nullptr, nullptr, attrs, nullptr},
      {"end", nullptr, End, nullptr, nullptr, nullptr, attrs, nullptr},
      {"destroy", nullptr, Destroy, nullptr, nullptr, nullptr, attrs, nullptr},
      {"peer", nullptr, Peer, nullptr, nullptr, nullptr, attrs, nullptr},
      {"id", nullptr, Id, nullptr, nullptr, nullptr, attrs, nullptr},
      {"liveCount", nullptr, LiveCount, nullptr, nullptr, nullptr, attrs, nullptr},
  };
  napi_value transport;
  napi_create_object(env, &transport);
  napi_define_properties(env, transport, sizeof(functions) / sizeof(functions[0]), functions);
  napi_set_named_property(env, exports, "transport", transport);
}

}  // namespace wsbolt
