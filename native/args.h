// Argument checks shared by every binding: bad arguments throw here and never reach the kernel.
#pragma once

#include <napi.h>
#include <stddef.h>
#include <stdint.h>

#include <string>

namespace selectchat {

// Reads argument i as a whole number in [min, max]; throws TypeError/RangeError otherwise.
bool IntegerArg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min,
                int64_t max, int64_t* out);

// Reads argument i as a file descriptor (a whole number >= 0).
bool FdArg(const Napi::CallbackInfo& info, size_t i, int* fd);

// Reads argument i as a string (an address).
bool StringArg(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out);

// Reads (buffer, offset, length) at arguments i, i+1, i+2 and checks the range lies inside it.
bool BufferRangeArgs(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* length);

}  // namespace selectchat
