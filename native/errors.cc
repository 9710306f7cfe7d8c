// Node-shaped errors: what a failed system call or a bad argument becomes in JavaScript.
#include "errors.h"

#include <string>
#include <uv.h>

namespace selectchat {

void ThrowErrno(Napi::Env env, int err, const char* syscall) {
  // libuv's error codes on Unix are negated errno values, so it names them for us.
  const char* code = uv_err_name(-err);
  std::string message = std::string(syscall) + " " + code;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
}

void ThrowTypeError(Napi::Env env, const char* message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  error.ThrowAsJavaScriptException();
}

void ThrowError(Napi::Env env, const char* code, const char* message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

void ThrowRangeError(Napi::Env env, const char* code, const char* message) {
  Napi::Error error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

}  // namespace selectchat
