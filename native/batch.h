// Several system calls in one crossing: a round's reads, a round's sends.
#pragma once

#include <napi.h>

namespace selectchat {

// Adds recvMany() and sendMany() to exports.
void InitBatch(Napi::Env env, Napi::Object exports);

}  // namespace selectchat
