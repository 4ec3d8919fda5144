// N-API bindings: argument decoding and dispatch only. The hot functions are
// raw napi_* callbacks (node-addon-api only registers them) because each
// wrapper layer costs time on calls that do ~1 KiB of work.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "mask.h"
#include "scan.h"
#include "utf8.h"

namespace {

using namespace wsbolt;

napi_value fail(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

// Any Uint8Array or Buffer (byteOffset already applied). napi_get_typedarray_info
// without the type costs about half of napi_get_buffer_info (which re-checks
// the view three times), and that matters on 1 KiB calls. It reports elements,
// which never exceed bytes, so a wider typed array (outside the contract) can
// give wrong bytes but never an access out of bounds. DataViews take the
// napi_get_buffer_info path.
bool get_bytes(napi_env env, napi_value value, uint8_t** data, size_t* length) {
  void* d = nullptr;
  if (napi_get_typedarray_info(env, value, nullptr, length, &d, nullptr, nullptr) != napi_ok &&
      napi_get_buffer_info(env, value, &d, length) != napi_ok)
    return false;
  *data = static_cast<uint8_t*>(d);
  return true;
}

bool is_index(double v) { return v >= 0 && v <= 9007199254740991.0 && v == std::trunc(v); }

// Numbers as JS operators see them: ToNumber for anything else (may throw).
bool to_number(napi_env env, napi_value value, double* result) {
  if (napi_get_value_double(env, value, result) == napi_ok) return true;
  napi_value number;
  if (napi_coerce_to_number(env, value, &number) != napi_ok) return false;
  return napi_get_value_double(env, number, result) == napi_ok;
}

// An integer argument as `x | 0` sees it (ToInt32); undefined, null and other non-numbers are 0.
int32_t int32_arg(napi_env env, size_t argc, napi_value* argv, size_t i) {
  int32_t v = 0;
  if (i < argc && napi_get_value_int32(env, argv[i], &v) != napi_ok) v = 0;
  return v;
}

// mask(source, key, output, offset, length): output[offset + i] = source[i] ^ key[i & 3].
// Source and output must not overlap (contract); the ranges are checked so memory stays safe.
napi_value Mask(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t *src, *key, *out;
  size_t src_length, key_length, out_length;
  if (argc < 5 || !get_bytes(env, argv[0], &src, &src_length) || !get_bytes(env, argv[1], &key, &key_length) ||
      !get_bytes(env, argv[2], &out, &out_length) || key_length < 4)
    return fail(env, "mask(source, key, output, offset, length): Uint8Arrays expected, the key of 4 bytes");
  double offset, length;
  if (napi_get_value_double(env, argv[3], &offset) != napi_ok || napi_get_value_double(env, argv[4], &length) != napi_ok ||
      !is_index(offset) || !is_index(length) || offset + length > (double)out_length || length > (double)src_length)
    return fail(env, "mask(): offset and length must be integers within source and output");
  xor_key(src, out + (size_t)offset, (size_t)length, load_key32(key));
  return nullptr;
}

// unmask(buffer, key, phase = 0) -> (phase + buffer.length) & 3, in place; phase taken as ToInt32(phase) & 3.
napi_value Unmask(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t *buf, *key;
  size_t n, key_length;
  if (argc < 2 || !get_bytes(env, argv[0], &buf, &n) || !get_bytes(env, argv[1], &key, &key_length) || key_length < 4)
    return fail(env, "unmask(buffer, key, phase): Uint8Arrays expected, the key of 4 bytes");
  const unsigned phase = (unsigned)int32_arg(env, argc, argv, 2) & 3;
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
  napi_typedarray_type out_type;
  void* out_data = nullptr;
  double offset;
  if (argc < 5 || !get_bytes(env, argv[0], &in.chunk, &in.end) ||
      napi_get_typedarray_info(env, argv[2], &out_type, &in.out_length, &out_data, nullptr, nullptr) != napi_ok ||
      out_type != napi_float64_array)
    return fail(env, "scanFrames(chunk, offset, out, flags, maxPayload): chunk must be a Uint8Array, out a Float64Array");
  if (napi_get_value_double(env, argv[1], &offset) != napi_ok) return fail(env, "scanFrames(): offset must be a number");
  in.out = static_cast<double*>(out_data);
  in.start_value = offset;
  if (!(offset < (double)in.end)) {
    in.start = in.end;  // NaN or at/after the end: nothing to scan, like `while (p < end)`
  } else if (offset >= 0 && offset == std::trunc(offset)) {
    in.start = (size_t)offset;
  } else {
    return fail(env, "scanFrames(): offset must be a non-negative integer");
  }
  if (napi_get_value_int32(env, argv[3], &in.flags) != napi_ok) {
    double flags;
    if (!to_number(env, argv[3], &flags)) return nullptr;
    napi_value number;
    napi_create_double(env, flags, &number);
    napi_get_value_int32(env, number, &in.flags);  // ToInt32, as `flags & x` applies it
  }
  if (!to_number(env, argv[4], &in.max_payload)) return nullptr;
  const size_t count = scan::scan_frames(in);
  napi_value result;
  if (count <= UINT32_MAX)
    napi_create_uint32(env, (uint32_t)count, &result);
  else
    napi_create_double(env, (double)count, &result);
  return result;
}

// utf8Step(buffer, state) -> state; state taken as ToInt32(state); outside 0..8 rejects.
napi_value Utf8Step(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* buf;
  size_t n;
  if (argc < 1 || !get_bytes(env, argv[0], &buf, &n)) return fail(env, "utf8Step(buffer, state): buffer must be a Uint8Array");
  int32_t state = int32_arg(env, argc, argv, 1);
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
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
