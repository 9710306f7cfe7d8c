// Node's own event loop, seen from outside: what a blocking select() needs to stay a good guest.
#pragma once

#include <napi.h>

namespace selectchat {

// Adds uvBackendFd() to exports.
void InitUvLoop(Napi::Env env, Napi::Object exports);

}  // namespace selectchat
