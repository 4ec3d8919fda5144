// Memory for large frame payloads, reused (issue 17, scenario d). A 1 MiB
// frame in a fresh Buffer costs page faults on every byte the first time it is
// written: glibc maps blocks that large anew and gives freed ones back to the
// kernel, so every message faulted its pages in again (perf: exc_page_fault,
// clear_page_erms and unmap_page_range, about 44 of a 1 MiB echo's 580 µs).
// Here each frame Buffer's block comes back when V8 collects the Buffer, and
// the next large frame reuses it, pages already in place.
//
// Bounded: at most kMaxIdleBlocks blocks and kMaxIdleBytes wait for reuse
// (the oldest are freed to make room for the newest), and all of them are
// freed once no large frame has been asked for during kTrimAfterMs. V8 counts these Buffers as external
// memory as it counts any other, so collections come as often as before.
#include "frame-pool.h"

#include "contract.h"
#include "teardown.h"

#include <uv.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace wsbolt {
namespace {

// Blocks are sized in granules, so that frames of nearby lengths share them.
constexpr size_t kGranule = 64 * 1024;
// A block is reused for a frame that leaves at most this fraction of it unused (1/4).
constexpr size_t kWasteShift = 2;
constexpr size_t kMaxIdleBlocks = 64;
constexpr size_t kMaxIdleBytes = 32 * 1024 * 1024;
constexpr uint64_t kTrimAfterMs = 5000;
// Each block starts with its capacity; the Buffer's bytes follow, 16-byte aligned as malloc's.
constexpr size_t kHeader = 16;

using TimerHandle = TeardownHandle<uv_timer_t>;

struct Pool {
  std::vector<char*> idle;  // blocks waiting for reuse (their header included), oldest first
  size_t idle_bytes = 0;
  // The environment's share (until its cleanup) plus one per Buffer not yet collected.
  size_t refs = 1;
  bool closed = false;
  uv_loop_t* loop = nullptr;
  TimerHandle* timer = nullptr;  // trims the idle blocks; unreferenced: it never keeps a process alive
  uint64_t last_use = 0;
  double reused = 0;
  double allocated = 0;
};

size_t capacity_of(const char* block) { return *reinterpret_cast<const size_t*>(block); }

void free_idle(Pool* pool) {
  for (char* block : pool->idle) free(block);
  pool->idle.clear();
  pool->idle_bytes = 0;
}

void unref(Pool* pool) {
  if (--pool->refs == 0) delete pool;
}

void on_trim(uv_timer_t* timer) {
  Pool* pool = static_cast<Pool*>(timer->data);  // alive: close_pool closes the timer before it lets the pool go
  if (uv_now(pool->loop) - pool->last_use < kTrimAfterMs) return;
  free_idle(pool);
  uv_timer_stop(timer);
}

// V8 collected a frame Buffer (Node calls this on the JS thread).
void release(napi_env, void* data, void* hint) {
  Pool* pool = static_cast<Pool*>(hint);
  char* block = static_cast<char*>(data) - kHeader;
  const size_t capacity = capacity_of(block);
  if (pool->closed || capacity > kMaxIdleBytes) {
    free(block);
  } else {
    // The newest blocks stay, the oldest make room: the sizes in use now are the ones worth keeping.
    while (!pool->idle.empty() && (pool->idle.size() >= kMaxIdleBlocks || pool->idle_bytes + capacity > kMaxIdleBytes)) {
      pool->idle_bytes -= capacity_of(pool->idle.front());
      free(pool->idle.front());
      pool->idle.erase(pool->idle.begin());
    }
    pool->idle.push_back(block);  // reserved for kMaxIdleBlocks: never allocates
    pool->idle_bytes += capacity;
    if (pool->timer != nullptr && !uv_is_active(pool->timer->as_handle())) uv_timer_start(&pool->timer->handle, on_trim, kTrimAfterMs, kTrimAfterMs);
  }
  unref(pool);
}

// The smallest idle block that holds length bytes without wasting more than a quarter of itself, taken out of the pool.
char* take_idle(Pool* pool, size_t length) {
  size_t best = SIZE_MAX;
  for (size_t i = 0; i < pool->idle.size(); i++) {
    const size_t capacity = capacity_of(pool->idle[i]);
    if (capacity >= length && capacity - length <= (capacity >> kWasteShift) && (best == SIZE_MAX || capacity < capacity_of(pool->idle[best])))
      best = i;
  }
  if (best == SIZE_MAX) return nullptr;
  char* block = pool->idle[best];
  pool->idle.erase(pool->idle.begin() + static_cast<std::ptrdiff_t>(best));  // keeps the others oldest first
  pool->idle_bytes -= capacity_of(block);
  return block;
}

Pool* pool_of(napi_env env, napi_callback_info info, napi_value* argv) {
  size_t argc = 1;
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  return static_cast<Pool*>(data);
}

// allocFrame(length) -> Buffer | undefined
napi_value AllocFrame(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Pool* pool = pool_of(env, info, argv);
  double length;
  if (napi_get_value_double(env, argv[0], &length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "allocFrame(length): length must be a number");
    return nullptr;
  }
  if (!(length >= static_cast<double>(contract::FRAME_POOL_MIN) && length <= static_cast<double>(contract::FRAME_POOL_MAX)) ||
      length != std::trunc(length)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "allocFrame(length): length must be an integer from FRAME_POOL_MIN to FRAME_POOL_MAX");
    return nullptr;
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  if (pool->closed) return undefined;
  const size_t size = static_cast<size_t>(length);
  char* block = take_idle(pool, size);
  if (block != nullptr) {
    pool->reused++;
  } else {
    const size_t capacity = (size + kGranule - 1) / kGranule * kGranule;
    block = static_cast<char*>(malloc(kHeader + capacity));
    if (block == nullptr) return undefined;
    *reinterpret_cast<size_t*>(block) = capacity;
    pool->allocated++;
  }
  napi_value result;
  if (napi_create_external_buffer(env, size, block + kHeader, release, pool, &result) != napi_ok) {
    // A runtime without external Buffers (napi_no_external_buffers_allowed): the caller allocates as usual.
    free(block);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    return undefined;
  }
  pool->refs++;
  pool->last_use = uv_now(pool->loop);
  return result;
}

// framePoolStats() -> { reused, allocated, outstanding, idleBlocks, idleBytes }: for tests and diagnostics
// (outstanding: Buffers not yet collected and finalized).
napi_value FramePoolStats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Pool* pool = pool_of(env, info, argv);
  napi_value result, value;
  napi_create_object(env, &result);
  napi_create_double(env, pool->reused, &value);
  napi_set_named_property(env, result, "reused", value);
  napi_create_double(env, pool->allocated, &value);
  napi_set_named_property(env, result, "allocated", value);
  napi_create_double(env, static_cast<double>(pool->refs - 1), &value);
  napi_set_named_property(env, result, "outstanding", value);
  napi_create_double(env, static_cast<double>(pool->idle.size()), &value);
  napi_set_named_property(env, result, "idleBlocks", value);
  napi_create_double(env, static_cast<double>(pool->idle_bytes), &value);
  napi_set_named_property(env, result, "idleBytes", value);
  return result;
}

// At environment teardown: the idle blocks go, Buffers collected later free
// their own, and the timer leaves the loop (a worker's loop must close empty)
// before Node goes on (teardown.h).
void close_pool(napi_async_cleanup_hook_handle, void* arg) {
  Pool* pool = static_cast<Pool*>(arg);
  pool->closed = true;
  free_idle(pool);
  TimerHandle* timer = pool->timer;
  pool->timer = nullptr;
  unref(pool);
  timer->close();
}

}  // namespace

void register_frame_pool(napi_env env, napi_value exports) {
  Pool* pool = new (std::nothrow) Pool();
  TimerHandle* timer = new (std::nothrow) TimerHandle();
  if (pool == nullptr || timer == nullptr || napi_get_uv_event_loop(env, &pool->loop) != napi_ok || uv_timer_init(pool->loop, &timer->handle) != 0) {
    delete timer;
    delete pool;
    return;  // no allocFrame: frames are allocated as usual
  }
  if (napi_add_async_cleanup_hook(env, close_pool, pool, &timer->hook) != napi_ok) {
    timer->close();  // it could not be closed in time at teardown: closed now, and no pool
    delete pool;
    return;
  }
  pool->idle.reserve(kMaxIdleBlocks);
  timer->handle.data = pool;
  uv_unref(timer->as_handle());
  pool->timer = timer;
  const auto attrs = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
  const napi_property_descriptor functions[] = {
      {"allocFrame", nullptr, AllocFrame, nullptr, nullptr, nullptr, attrs, pool},
      {"framePoolStats", nullptr, FramePoolStats, nullptr, nullptr, nullptr, attrs, pool},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
}

}  // namespace wsbolt
