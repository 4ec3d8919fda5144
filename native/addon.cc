// N-API bindings: argument decoding and dispatch only. The hot functions are
// raw napi_* callbacks (node-addon-api only registers them) because each
// wrapper layer costs time on calls that do ~1 KiB of work.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "exact.h"
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

// The view's byteOffset, which the JS reference uses to pick its word loop.
size_t byte_offset_of(napi_env env, napi_value value, const uint8_t* data) {
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, nullptr, nullptr, nullptr, nullptr, &offset) == napi_ok) return offset;
  if (napi_get_dataview_info(env, value, nullptr, nullptr, nullptr, &offset) == napi_ok) return offset;
  return (size_t)(uintptr_t)data;
}

bool overlaps(const uint8_t* a, size_t a_length, const uint8_t* b, size_t b_length) {
  const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return a_length != 0 && b_length != 0 && x < y + b_length && y < x + a_length;
}

// The key as the JS reads it: bytes past a short key are undefined, i.e. XOR 0.
uint32_t load_key(const uint8_t* key, size_t key_length) {
  if (key_length >= 4) return load_key32(key);
  uint8_t k[4] = {0, 0, 0, 0};
  if (key_length != 0) std::memcpy(k, key, key_length);
  return load_key32(k);
}

bool is_index(double v) { return v >= 0 && v <= 9007199254740991.0 && v == std::trunc(v); }

// Numbers as JS operators see them: ToNumber for anything else (may throw).
bool to_number(napi_env env, napi_value value, double* result) {
  if (napi_get_value_double(env, value, result) == napi_ok) return true;
  napi_value number;
  if (napi_coerce_to_number(env, value, &number) != napi_ok) return false;
  return napi_get_value_double(env, number, result) == napi_ok;
}

// mask(source, key, output, offset, length): output[offset + i] = source[i] ^ key[i & 3].
napi_value Mask(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t *src, *key, *out;
  size_t src_length, key_length, out_length;
  if (argc < 5 || !get_bytes(env, argv[0], &src, &src_length) || !get_bytes(env, argv[1], &key, &key_length) ||
      !get_bytes(env, argv[2], &out, &out_length))
    return fail(env, "mask(source, key, output, offset, length): source, key and output must be Uint8Arrays");
  double offset, length;
  if (napi_get_value_double(env, argv[3], &offset) != napi_ok || napi_get_value_double(env, argv[4], &length) != napi_ok ||
      !is_index(offset) || !is_index(length) || offset + length > (double)out_length || length > (double)src_length)
    return fail(env, "mask(): offset and length must be integers within source and output");
  const size_t n = (size_t)length;
  uint8_t* dst = out + (size_t)offset;
  const size_t key_used = key_length < 4 ? key_length : 4;
  // A destination just above the source, or a key inside it, changes what later bytes read.
  if (n != 0 && (((uintptr_t)dst > (uintptr_t)src && overlaps(src, n, dst, n)) || overlaps(key, key_used, dst, n))) {
    exact::mask(src, byte_offset_of(env, argv[0], src), key, key_length, dst,
                byte_offset_of(env, argv[2], out) + (size_t)offset, n);
    return nullptr;
  }
  xor_key(src, dst, n, load_key(key, key_length));
  return nullptr;
}

// unmask(buffer, key, phase = 0) -> (phase + buffer.length) & 3, in place.
napi_value Unmask(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t *buf, *key;
  size_t n, key_length;
  if (argc < 2 || !get_bytes(env, argv[0], &buf, &n) || !get_bytes(env, argv[1], &key, &key_length))
    return fail(env, "unmask(buffer, key, phase): buffer and key must be Uint8Arrays");
  double phase = 0;
  if (argc > 2 && napi_get_value_double(env, argv[2], &phase) != napi_ok) {
    napi_valuetype type;
    napi_typeof(env, argv[2], &type);
    if (type == napi_boolean) {
      bool b;
      napi_get_value_bool(env, argv[2], &b);
      phase = b ? 1 : 0;
    } else if (type != napi_undefined && type != napi_null) {
      return fail(env, "unmask(): phase must be a number");
    }
  }
  unsigned next;
  // An integer phase well inside 2^53 keeps (phase + i) exact: one rotation covers every byte.
  // (Range first: converting NaN or a huge double to an integer is UB.)
  const int64_t p = phase > -4.0e15 && phase < 4.0e15 ? (int64_t)phase : 0;
  if ((double)p == phase && !overlaps(key, key_length < 4 ? key_length : 4, buf, n)) {
    xor_key(buf, buf, n, rotate_key(load_key(key, key_length), (unsigned)(p & 3)));
    next = (unsigned)((p + (int64_t)n) & 3);
  } else {
    next = exact::unmask(buf, n, byte_offset_of(env, argv[0], buf), key, key_length, phase);
  }
  napi_value result;
  napi_create_uint32(env, next, &result);
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

// utf8Step(buffer, state) -> state.
napi_value Utf8Step(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* buf;
  size_t n;
  if (argc < 1 || !get_bytes(env, argv[0], &buf, &n)) return fail(env, "utf8Step(buffer, state): buffer must be a Uint8Array");
  if (n == 0) {
    // The JS loop does not run and hands back whatever it was given.
    if (argc < 2) {
      napi_value undefined;
      napi_get_undefined(env, &undefined);
      return undefined;
    }
    return argv[1];
  }
  double s = 1;
  uint32_t state = utf8::kReject;  // the JS switch sends unknown states to REJECT
  if (argc >= 2 && napi_get_value_double(env, argv[1], &s) == napi_ok && s >= 0 && s < utf8::kStates && s == std::trunc(s))
    state = (uint32_t)s;
  if (state != utf8::kReject) state = utf8::step(buf, n, state);
  // JS hands back its -0 untouched when only ASCII followed it.
  if (state == utf8::kAccept && std::signbit(s) && utf8::ascii_prefix(buf, n) == n) return argv[1];
  napi_value result;
  napi_create_uint32(env, state, &result);
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
