// Several system calls in one crossing: the reads of a round's ready sockets, the sends of a
// round's connections with output. Crossing from JavaScript into C++ and back costs about as
// much as a small recv() itself here, so a round pays it once instead of once per socket, as
// recvmmsg/sendmmsg and io_uring batch across the kernel's boundary. TypeScript hands over the
// list and decides everything; this only loops over the calls. No framing, no protocol.
#include "batch.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>

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

// sendRanges(fds, count, buffer, starts, offsets, lengths, results): for each fd i, one
// sendmsg() gathering the ranges starts[i] .. starts[i+1]-1 of buffer, range r being
// buffer[offsets[r], offsets[r] + lengths[r]) (at most IOV_MAX of them: the rest is a partial
// send, as a short write is); results[i] = bytes taken, -EAGAIN, or -errno. One buffer holds
// every range, so no JavaScript can run between reading a pointer and the system calls.
Napi::Value SendRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t count;
  int32_t *fds, *starts, *offsets, *lengths, *results;
  size_t n_fds, n_starts, n_offsets, n_lengths, n_results;
  uint8_t* data;
  size_t size;
  if (!IntegerArg(info, 1, "count", 0, kMaxBatch, &count) ||
      !Int32ArrayArg(info, 0, "fds", static_cast<size_t>(count), &fds, &n_fds) ||
      !BufferArg(info, 2, &data, &size) ||
      !Int32ArrayArg(info, 3, "starts", static_cast<size_t>(count) + 1, &starts, &n_starts) ||
      !Int32ArrayArg(info, 4, "offsets", 0, &offsets, &n_offsets) ||
      !Int32ArrayArg(info, 5, "lengths", 0, &lengths, &n_lengths) ||
      !Int32ArrayArg(info, 6, "results", static_cast<size_t>(count), &results, &n_results))
    return Napi::Value();
  // Every range is checked before any send(): bad arguments never reach the kernel.
  for (int64_t i = 0; i < count; i++) {
    if (starts[i] < 0 || starts[i + 1] < starts[i] || static_cast<size_t>(starts[i + 1]) > n_offsets ||
        static_cast<size_t>(starts[i + 1]) > n_lengths) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "The \"starts\" argument does not index the ranges");
      return Napi::Value();
    }
  }
  int32_t ranges = count > 0 ? starts[count] : 0;
  for (int32_t r = count > 0 ? starts[0] : 0; r < ranges; r++) {
    if (offsets[r] < 0 || lengths[r] < 0 ||
        static_cast<uint64_t>(offsets[r]) + static_cast<uint64_t>(lengths[r]) > size) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "A range lies outside the buffer");
      return Napi::Value();
    }
  }
  iovec iov[IOV_MAX];
  for (int64_t i = 0; i < count; i++) {
    int used = 0;
    for (int32_t r = starts[i]; r < starts[i + 1] && used < IOV_MAX; r++, used++) {
      iov[used].iov_base = data + offsets[r];
      iov[used].iov_len = static_cast<size_t>(lengths[r]);
    }
    msghdr message = {};
    message.msg_iov = iov;
    message.msg_iovlen = static_cast<size_t>(used);
    int fd = fds[i];
    results[i] = Result([&] { return sendmsg(fd, &message, MSG_NOSIGNAL); });
  }
  return env.Undefined();
}

}  // namespace

void InitBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("recvMany", Napi::Function::New(env, RecvMany, "recvMany"));
  exports.Set("sendRanges", Napi::Function::New(env, SendRanges, "sendRanges"));
}

}  // namespace selectchat
