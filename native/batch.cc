// Several system calls in one crossing: the reads of a round's ready sockets, the sends of a
// round's connections with output. Crossing from JavaScript into C++ and back costs about as
// much as a small recv() itself here, so a round pays it once instead of once per socket, as
// recvmmsg/sendmmsg and io_uring batch across the kernel's boundary. TypeScript hands over the
// list and decides everything; this only loops over the calls. No framing, no protocol.
#include "batch.h"

#include <errno.h>
#include <sys/socket.h>

#include <vector>

#include "args.h"
#include "errors.h"

namespace selectchat {
namespace {

// The most sockets one call takes: a bound on the work done without returning to the loop.
constexpr int64_t kMaxBatch = 1 << 16;

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// A recv()/send() result as the batch reports it: bytes (0 = EOF for recv), or -errno;
// EINTR is retried, as the single calls do.
template <typename Call>
int32_t Result(Call call) {
  ssize_t n;
  do {
    n = call();
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return static_cast<int32_t>(n);
  return WouldBlock(errno) ? -EAGAIN : -errno;
}

// recvMany(fds, count, buffer, slotBytes, results): one recv() per fd, fds[i] reading into
// buffer[i * slotBytes, (i + 1) * slotBytes); results[i] = bytes, 0 at EOF, -EAGAIN, or
// -errno (the caller turns it into the error recv() would have thrown).
Napi::Value RecvMany(const Napi::CallbackInfo& info) {
  int64_t count, slot;
  int32_t *fds, *results;
  size_t fds_length, results_length;
  uint8_t* data;
  size_t size;
  if (!IntegerArg(info, 1, "count", 0, kMaxBatch, &count) ||
      !Int32ArrayArg(info, 0, "fds", static_cast<size_t>(count), &fds, &fds_length) ||
      !BufferArg(info, 2, &data, &size) ||
      !IntegerArg(info, 3, "slotBytes", 1, INT32_MAX, &slot) ||
      !Int32ArrayArg(info, 4, "results", static_cast<size_t>(count), &results, &results_length))
    return Napi::Value();
  if (static_cast<uint64_t>(count) * static_cast<uint64_t>(slot) > size) {
    ThrowRangeError(info.Env(), "ERR_OUT_OF_RANGE", "The \"buffer\" argument is smaller than count * slotBytes");
    return Napi::Value();
  }
  for (int64_t i = 0; i < count; i++) {
    uint8_t* at = data + i * slot;
    int fd = fds[i];
    results[i] = Result([&] { return recv(fd, at, static_cast<size_t>(slot), 0); });
  }
  return info.Env().Undefined();
}

// sendMany(fds, count, buffers, offsets, lengths, results): one send() per fd of
// buffers[i][offsets[i], offsets[i] + lengths[i]); results[i] = bytes taken, -EAGAIN, or -errno.
// Every element of buffers is read (which may run JavaScript: a getter) before any pointer is
// taken, so nothing can detach a buffer between taking its pointer and the system call.
Napi::Value SendMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t count;
  int32_t *fds, *offsets, *lengths, *results;
  size_t n_fds, n_offsets, n_lengths, n_results;
  if (!IntegerArg(info, 1, "count", 0, kMaxBatch, &count) ||
      !Int32ArrayArg(info, 0, "fds", static_cast<size_t>(count), &fds, &n_fds) ||
      !Int32ArrayArg(info, 3, "offsets", static_cast<size_t>(count), &offsets, &n_offsets) ||
      !Int32ArrayArg(info, 4, "lengths", static_cast<size_t>(count), &lengths, &n_lengths) ||
      !Int32ArrayArg(info, 5, "results", static_cast<size_t>(count), &results, &n_results))
    return Napi::Value();
  if (!info[2].IsArray()) {
    ThrowTypeError(env, "The \"buffers\" argument must be an array of Buffers");
    return Napi::Value();
  }
  Napi::Array array = info[2].As<Napi::Array>();
  if (array.Length() < static_cast<uint32_t>(count)) {
    ThrowRangeError(env, "ERR_OUT_OF_RANGE", "The \"buffers\" argument holds fewer than count buffers");
    return Napi::Value();
  }
  std::vector<napi_value> items(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) {
    if (napi_get_element(env, array, static_cast<uint32_t>(i), &items[i]) != napi_ok) return Napi::Value();
  }
  // From here on no JavaScript runs until every send() is done.
  std::vector<uint8_t*> starts(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) {
    void* base;
    size_t size;
    if (napi_get_buffer_info(env, items[i], &base, &size) != napi_ok) {
      ThrowTypeError(env, "The \"buffers\" argument must be an array of Buffers");
      return Napi::Value();
    }
    if (offsets[i] < 0 || lengths[i] < 0 ||
        static_cast<uint64_t>(offsets[i]) + static_cast<uint64_t>(lengths[i]) > size) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "An offset and length lie outside their buffer");
      return Napi::Value();
    }
    starts[i] = static_cast<uint8_t*>(base) + offsets[i];
  }
  for (int64_t i = 0; i < count; i++) {
    int fd = fds[i];
    uint8_t* at = starts[i];
    size_t length = static_cast<size_t>(lengths[i]);
    results[i] = Result([&] { return send(fd, at, length, MSG_NOSIGNAL); });
  }
  return env.Undefined();
}

}  // namespace

void InitBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("recvMany", Napi::Function::New(env, RecvMany, "recvMany"));
  exports.Set("sendMany", Napi::Function::New(env, SendMany, "sendMany"));
}

}  // namespace selectchat
