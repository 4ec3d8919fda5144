// Memory for large frame payloads, reused (issue 17, scenario d).
#pragma once

#include <node_api.h>

namespace wsbolt {

// Defines exports.allocFrame(length) -> Buffer | undefined: a Buffer of length
// bytes (contents unspecified) whose memory goes back to a per-environment pool
// when V8 collects it; undefined when no memory or no external Buffer can be
// had (the caller allocates as usual). Throws a RangeError for a length outside
// [FRAME_POOL_MIN, FRAME_POOL_MAX] and a TypeError for anything but a number.
void register_frame_pool(napi_env env, napi_value exports);

}  // namespace wsbolt
