// N-API bindings: argument decoding and dispatch only. The hot functions are
// raw napi_* callbacks (node-addon-api only registers them) because each
// wrapper layer costs time on calls that do ~1 KiB of work.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "mask.h"
#include "scan.h"
#include "transport.h"
#include "utf8.h"

namespace {

using namespace wsbolt;

// Errors as src/native/args.ts makes them: same class, code and message, so
// both implementations refuse the same calls alike.
napi_value type_error(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return nullptr;
}

napi_value range_error(napi_env env, const char* message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return nullptr;
}

// Scalars are read first and never coerced: napi_get_value_* runs no JS, so
// no valueOf or getter can run during a call, in particular none that detaches
// or shrinks a buffer after its pointer is taken below.

// A number argument (a missing one is undefined, so refused).
bool number_arg(napi_env env, napi_value value, double* result) {
  return napi_get_value_double(env, value, result) == napi_ok;
}

// An optional integer argument as `x | 0` sees a number (ToInt32); undefined is 0, anything else refused.
bool optional_int32_arg(napi_env env, napi_value value, int32_t* result) {
  *result = 0;
  if (napi_get_value_int32(env, value, result) == napi_ok) return true;
  napi_valuetype type;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_undefined;
}

// A Uint8Array (Buffers are Uint8Arrays), byteOffset applied; anything else
// refused, as the fallback refuses it. The pointer and length are good until
// JS runs again, which no argument can make happen (see above).
bool get_bytes(napi_env env, napi_value value, uint8_t** data, size_t* length) {
  napi_typedarray_type type;
  void* d = nullptr;
  if (napi_get_typedarray_info(env, value, &type, length, &d, nullptr, nullptr) != napi_ok || type != napi_uint8_array)
    return false;
  *data = static_cast<uint8_t*>(d);
  return true;
}

bool is_index(double v) { return v >= 0 && v <= 9007199254740991.0 && v == std::trunc(v); }

// mask(source, key, output, offset, length): output[offset + i] = source[i] ^ key[i & 3].
// Source and output must not overlap (contract); the ranges are checked so memory stays safe.
napi_value Mask(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double offset, length;
  if (!number_arg(env, argv[3], &offset) || !number_arg(env, argv[4], &length))
    return type_error(env, "mask(): offset and length must be numbers");
  uint8_t *src, *key, *out;
  size_t src_length, key_length, out_length;
  if (!get_bytes(env, argv[0], &src, &src_length) || !get_bytes(env, argv[1], &key, &key_length) ||
      !get_bytes(env, argv[2], &out, &out_length))
    return type_error(env, "mask(source, key, output, offset, length): source, key and output must be Uint8Arrays");
  if (key_length < 4) return range_error(env, "mask(): the key must have 4 bytes");
  if (!is_index(offset) || !is_index(length) || offset + length > (double)out_length || length > (double)src_length)
    return range_error(env, "mask(): offset and length must be integers within source and output");
  xor_key(src, out + (size_t)offset, (size_t)length, load_key32(key));
  return nullptr;
}

// unmask(buffer, key, phase = 0) -> (phase + buffer.length) & 3, in place; phase taken as ToInt32(phase) & 3.
napi_value Unmask(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t phase_arg;
  if (!optional_int32_arg(env, argv[2], &phase_arg)) return type_error(env, "unmask(): phase must be a number");
  uint8_t *buf, *key;
  size_t n, key_length;
  if (!get_bytes(env, argv[0], &buf, &n) || !get_bytes(env, argv[1], &key, &key_length))
    return type_error(env, "unmask(buffer, key, phase): buffer and key must be Uint8Arrays");
  if (key_length < 4) return range_error(env, "unmask(): the key must have 4 bytes");
  const unsigned phase = (unsigned)phase_arg & 3;
  xor_key(buf, buf, n, rotate_key(load_key32(key), phase));
  napi_value result;
  napi_create_uint32(env, (unsigned)((phase + n) & 3), &result);
  return result;
}

// scanFrames(chunk, offset, out: Float64Array, flags, maxPayload) -> record count.
napi_value ScanFrames(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  scan::Input in;
  double offset, flags;
  if (!number_arg(env, argv[1], &offset) || !number_arg(env, argv[3], &flags) || !number_arg(env, argv[4], &in.max_payload))
    return type_error(env, "scanFrames(): offset, flags and maxPayload must be numbers");
  napi_get_value_int32(env, argv[3], &in.flags);  // ToInt32, as `flags & x` applies it
  napi_typedarray_type out_type;
  void* out_data = nullptr;
  if (!get_bytes(env, argv[0], &in.chunk, &in.end) ||
      napi_get_typedarray_info(env, argv[2], &out_type, &in.out_length, &out_data, nullptr, nullptr) != napi_ok ||
      out_type != napi_float64_array)
    return type_error(env, "scanFrames(chunk, offset, out, flags, maxPayload): chunk must be a Uint8Array, out a Float64Array");
  // Without room for a record, a complete frame could never be consumed: the caller would loop on SCAN_FULL.
  if (in.out_length < contract::OUT_RECORDS + contract::RECORD_SIZE)
    return range_error(env, "scanFrames(): out must have room for a record (11 doubles)");
  in.out = static_cast<double*>(out_data);
  in.start_value = offset;
  if (!(offset < (double)in.end)) {
    in.start = in.end;  // NaN or at/after the end: nothing to scan, like `while (p < end)`
  } else if (offset >= 0 && offset == std::trunc(offset)) {
    in.start = (size_t)offset;
  } else {
    return range_error(env, "scanFrames(): offset must be a non-negative integer");
  }
  const size_t count = scan::scan_frames(in);
  napi_value result;
  if (count <= UINT32_MAX)
    napi_create_uint32(env, (uint32_t)count, &result);
  else
    napi_create_double(env, (double)count, &result);
  return result;
}

// utf8Step(buffer, state = 0) -> state; state taken as ToInt32(state); outside 0..8 rejects.
napi_value Utf8Step(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t state;
  if (!optional_int32_arg(env, argv[1], &state)) return type_error(env, "utf8Step(): state must be a number");
  uint8_t* buf;
  size_t n;
  if (!get_bytes(env, argv[0], &buf, &n)) return type_error(env, "utf8Step(buffer, state): buffer must be a Uint8Array");
  if (n != 0) {
    const bool valid = state >= 0 && state < (int32_t)utf8::kStates && state != (int32_t)utf8::kReject;
    state = valid ? (int32_t)utf8::step(buf, n, (uint32_t)state) : (int32_t)utf8::kReject;
  }
  napi_value result;
  napi_create_int32(env, state, &result);
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  init_kernels();
  // Plain writable, enumerable properties, like `exports.x = f` (load.ts spreads them).
  const auto attrs = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
  const napi_property_descriptor functions[] = {
      {"mask", nullptr, Mask, nullptr, nullptr, nullptr, attrs, nullptr},
      {"unmask", nullptr, Unmask, nullptr, nullptr, nullptr, attrs, nullptr},
      {"scanFrames", nullptr, ScanFrames, nullptr, nullptr, nullptr, attrs, nullptr},
      {"utf8Step", nullptr, Utf8Step, nullptr, nullptr, nullptr, attrs, nullptr},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  register_transport(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
