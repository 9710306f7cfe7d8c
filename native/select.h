// select(): a Selector keeps the master fd sets that JavaScript edits and waits on copies.
#pragma once

#include <napi.h>

namespace selectchat {

// Adds the Selector class to exports.
void InitSelect(Napi::Env env, Napi::Object exports);

}  // namespace selectchat
