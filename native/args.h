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

// Reads argument i as a wait() timeout in ms: -1 (no timeout) or 0 to 2147483647 (~24.8 days).
bool TimeoutArg(const Napi::CallbackInfo& info, size_t i, double* ms);

// Reads argument i as TimeoutArg does, rounded up to whole ms for poll() and epoll_wait(), so a
// 0.4 ms wait never becomes a 0 ms poll that a loop spins on until its timer is due.
bool WholeMsTimeoutArg(const Napi::CallbackInfo& info, size_t i, int* ms);

// Reads argument i as an Int32Array of at least min_length values (a caller-owned answer array).
bool Int32ArrayArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t min_length,
                   int32_t** data, size_t* length);

// Reads argument i as a Buffer or Uint8Array: its bytes and their number.
bool BufferArg(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* size);

// Reads (buffer, offset, length) at arguments i, i+1, i+2 and checks the range lies inside it.
bool BufferRangeArgs(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* length);

}  // namespace selectchat
