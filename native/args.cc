// Argument checks shared by every binding: bad arguments throw here and never reach the kernel.
#include "args.h"

#include <math.h>
#include <string>

#include "errors.h"

namespace selectchat {
namespace {

// Longest timeout a wait() takes: INT32_MAX ms, ~24.8 days.
constexpr double kMaxTimeoutMs = 2147483647.0;

}  // namespace

bool IntegerArg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min,
                int64_t max, int64_t* out) {
  Napi::Env env = info.Env();
  // One napi_get_value_double both checks the type and reads the value.
  double value;
  if (napi_get_value_double(env, info[i], &value) != napi_ok) {
    ThrowTypeError(env, (std::string("The \"") + name + "\" argument must be a number").c_str());
    return false;
  }
  if (!(value >= static_cast<double>(min) && value <= static_cast<double>(max)) ||
      value != floor(value)) {
    std::string message = std::string("The \"") + name + "\" argument must be an integer from " +
                          std::to_string(min) + " to " + std::to_string(max) + ", got " +
                          std::to_string(value);
    ThrowRangeError(env, "ERR_OUT_OF_RANGE", message.c_str());
    return false;
  }
  *out = static_cast<int64_t>(value);
  return true;
}

bool FdArg(const Napi::CallbackInfo& info, size_t i, int* fd) {
  int64_t value;
  if (!IntegerArg(info, i, "fd", 0, INT32_MAX, &value)) return false;
  *fd = static_cast<int>(value);
  return true;
}

bool StringArg(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out) {
  if (!info[i].IsString()) {
    ThrowTypeError(info.Env(),
                   (std::string("The \"") + name + "\" argument must be a string").c_str());
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool TimeoutArg(const Napi::CallbackInfo& info, size_t i, double* ms) {
  Napi::Env env = info.Env();
  if (napi_get_value_double(env, info[i], ms) != napi_ok) {
    ThrowTypeError(env, "The \"timeoutMs\" argument must be a number");
    return false;
  }
  // Written so that NaN fails too.
  if (!((*ms >= 0 && *ms <= kMaxTimeoutMs) || *ms == -1)) {
    ThrowRangeError(env, "ERR_OUT_OF_RANGE",
                    "The \"timeoutMs\" argument must be -1 or from 0 to 2147483647");
    return false;
  }
  return true;
}

bool WholeMsTimeoutArg(const Napi::CallbackInfo& info, size_t i, int* ms) {
  double exact;
  if (!TimeoutArg(info, i, &exact)) return false;
  *ms = static_cast<int>(ceil(exact));
  return true;
}

bool Int32ArrayArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t min_length,
                   int32_t** data, size_t* length) {
  Napi::Env env = info.Env();
  napi_typedarray_type type;
  void* base;
  // The data pointer napi_get_typedarray_info gives already includes the view's byte offset.
  if (napi_get_typedarray_info(env, info[i], &type, length, &base, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array) {
    std::string message = std::string("The \"") + name + "\" argument must be an Int32Array";
    ThrowTypeError(env, message.c_str());
    return false;
  }
  if (*length < min_length) {
    std::string message = std::string("The \"") + name + "\" array must hold at least " +
                          std::to_string(min_length) + " values";
    ThrowRangeError(env, "ERR_OUT_OF_RANGE", message.c_str());
    return false;
  }
  *data = static_cast<int32_t*>(base);
  return true;
}

bool BufferArg(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* size) {
  void* base;
  // napi_get_buffer_info fails for anything that is not a Buffer/Uint8Array: that is our check.
  if (napi_get_buffer_info(info.Env(), info[i], &base, size) != napi_ok) {
    ThrowTypeError(info.Env(), "The \"buffer\" argument must be a Buffer or Uint8Array");
    return false;
  }
  *data = static_cast<uint8_t*>(base);
  return true;
}

bool BufferRangeArgs(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* length) {
  uint8_t* base;
  size_t size;
  if (!BufferArg(info, i, &base, &size)) return false;
  int64_t offset, count;
  if (!IntegerArg(info, i + 1, "offset", 0, static_cast<int64_t>(size), &offset)) return false;
  if (!IntegerArg(info, i + 2, "length", 0, static_cast<int64_t>(size) - offset, &count))
    return false;
  *data = base + offset;
  *length = static_cast<size_t>(count);
  return true;
}

}  // namespace selectchat
