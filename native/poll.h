// poll(): a Poller keeps the pollfd array between calls and hands it to the kernel as it is.
#pragma once

#include <napi.h>

namespace selectchat {

// Adds the Poller class to exports.
void InitPoll(Napi::Env env, Napi::Object exports);

}  // namespace selectchat
