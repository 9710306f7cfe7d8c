// POSIX socket calls, one JS function per system call: all sockets are non-blocking.
#pragma once

#include <napi.h>

namespace selectchat {

// Adds socket(), bind(), listen(), accept4(), connect(), recv(), send(), shutdown(),
// close(), setsockopt(), getsockopt(), getsockname() and getpeername() to exports.
void InitSockets(Napi::Env env, Napi::Object exports);

}  // namespace selectchat
