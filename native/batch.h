// Several system calls in one crossing: a round's reads, a round's sends.
#pragma once

#include <napi.h>

namespace selectchat {

// Adds recvMany() and sendRanges() to exports.
void InitBatch(Napi::Env env, Napi::Object exports);

}  // namespace selectchat
