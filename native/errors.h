// Node-shaped errors: what a failed system call or a bad argument becomes in JavaScript.
#pragma once

#include <napi.h>

namespace selectchat {

// Throws Error("<syscall> <CODE>") with code, errno (negative, as Node reports it) and syscall.
void ThrowErrno(Napi::Env env, int err, const char* syscall);

// Throws TypeError with code ERR_INVALID_ARG_TYPE.
void ThrowTypeError(Napi::Env env, const char* message);

// Throws Error with the given code: a misuse that is neither a bad argument nor a failed call.
void ThrowError(Napi::Env env, const char* code, const char* message);

// Throws RangeError with the given code (ERR_OUT_OF_RANGE, ERR_FD_SETSIZE, ...).
void ThrowRangeError(Napi::Env env, const char* code, const char* message);

}  // namespace selectchat
