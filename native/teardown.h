// A libuv handle the addon owns for the life of a Node environment (a worker
// thread has its own), closed at the environment's teardown with Node waiting
// for the close callback: a worker's environment unloads the addon once its
// cleanup is over, so a callback still pending then would run in unmapped code.
#pragma once

#include <node_api.h>
#include <uv.h>

namespace wsbolt {

template <typename Handle>
struct TeardownHandle {
  Handle handle;  // first: libuv hands back &handle
  napi_async_cleanup_hook_handle hook = nullptr;

  uv_handle_t* as_handle() { return reinterpret_cast<uv_handle_t*>(&handle); }

  // Closes the handle; its close callback lets Node go on (when a hook waits) and frees the holder.
  void close() {
    uv_close(as_handle(), [](uv_handle_t* h) {
      TeardownHandle* holder = reinterpret_cast<TeardownHandle*>(h);
      if (holder->hook != nullptr) napi_remove_async_cleanup_hook(holder->hook);
      delete holder;
    });
  }
};

}  // namespace wsbolt
