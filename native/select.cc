// select(): a Selector keeps the master fd sets that JavaScript edits and waits on copies.
//
// Like Redis' ae_select.c, the interest sets live here between calls, so a loop round costs one
// N-API call and no allocation: add()/remove() edit the master sets when interest changes, and
// wait() copies them, blocks in select(), and writes the ready fds into a caller-owned array.
#include "select.h"

#include <errno.h>
#include <string.h>
#include <sys/select.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "mask.h"

namespace selectchat {
namespace {

class Selector : public Napi::ObjectWrap<Selector> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Selector",
                       {InstanceMethod<&Selector::Add>("add"),
                        InstanceMethod<&Selector::Remove>("remove"),
                        InstanceMethod<&Selector::Wait>("wait"),
                        InstanceAccessor<&Selector::MaxFd>("maxFd")});
  }

  explicit Selector(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Selector>(info) {
    FD_ZERO(&read_);
    FD_ZERO(&write_);
    FD_ZERO(&except_);
  }

 private:
  // Reads (fd, mask) and refuses an fd that FD_SET cannot hold: FD_SET(1024) writes past the
  // end of the fd_set and corrupts memory, so the check must come before any FD_* macro.
  bool FdMaskArgs(const Napi::CallbackInfo& info, int* fd, int* mask) {
    int64_t bits;
    if (!FdArg(info, 0, fd) || !IntegerArg(info, 1, "mask", 0, kAllEvents, &bits)) return false;
    if (*fd >= FD_SETSIZE) {
      std::string message = "fd " + std::to_string(*fd) + " is at or above FD_SETSIZE (" +
                            std::to_string(FD_SETSIZE) + "): select() cannot watch it";
      ThrowRangeError(info.Env(), "ERR_FD_SETSIZE", message.c_str());
      return false;
    }
    *mask = static_cast<int>(bits);
    return true;
  }

  // add(fd, mask): watch fd for the events in mask (READABLE | WRITABLE | EXCEPTION).
  Napi::Value Add(const Napi::CallbackInfo& info) {
    int fd, mask;
    if (!FdMaskArgs(info, &fd, &mask)) return Napi::Value();
    if (mask & kReadable) FD_SET(fd, &read_);
    if (mask & kWritable) FD_SET(fd, &write_);
    if (mask & kException) FD_SET(fd, &except_);
    if (mask != 0 && fd > max_fd_) max_fd_ = fd;
    return info.Env().Undefined();
  }

  // remove(fd, mask): stop watching fd for the events in mask.
  Napi::Value Remove(const Napi::CallbackInfo& info) {
    int fd, mask;
    if (!FdMaskArgs(info, &fd, &mask)) return Napi::Value();
    if (mask & kReadable) FD_CLR(fd, &read_);
    if (mask & kWritable) FD_CLR(fd, &write_);
    if (mask & kException) FD_CLR(fd, &except_);
    // select() scans 0..nfds-1, so keep max_fd_ as low as the sets allow.
    while (max_fd_ >= 0 && !Watched(max_fd_)) max_fd_--;
    return info.Env().Undefined();
  }

  // wait(timeoutMs, out): blocks until an fd is ready or the timeout ends (-1: no timeout,
  // 0: poll). Writes (fd, mask) pairs into the Int32Array out and returns how many fds are
  // ready, or -EINTR when a signal interrupted the wait.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    double timeout_ms;
    int32_t* out;
    size_t capacity;
    // With no room for one answer, a ready fd would look like a timeout and the loop spin.
    if (!TimeoutArg(info, 0, &timeout_ms) || !Int32ArrayArg(info, 1, "out", 2, &out, &capacity))
      return Napi::Value();
    size_t pairs = capacity / 2;

    // select() overwrites its sets with the answer, so it gets copies: the master sets keep
    // the interest for the next round without being rebuilt from JavaScript.
    fd_set readable = read_, writable = write_, exceptional = except_;
    timeval tv;
    timeval* tvp = nullptr;
    if (timeout_ms >= 0) {
      long long us = static_cast<long long>(timeout_ms * 1000.0);
      tv.tv_sec = static_cast<time_t>(us / 1000000);
      tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
      tvp = &tv;
    }
    int ready = select(max_fd_ + 1, &readable, &writable, &exceptional, tvp);
    if (ready < 0) {
      if (errno == EINTR) return Napi::Number::New(env, -EINTR);
      ThrowErrno(env, errno, "select");
      return Napi::Value();
    }
    size_t count = 0;
    for (int fd = 0; fd <= max_fd_ && ready > 0 && count < pairs; fd++) {
      int mask = 0;
      if (FD_ISSET(fd, &readable)) mask |= kReadable;
      if (FD_ISSET(fd, &writable)) mask |= kWritable;
      if (FD_ISSET(fd, &exceptional)) mask |= kException;
      if (mask == 0) continue;
      out[2 * count] = fd;
      out[2 * count + 1] = mask;
      count++;
      // select() counts an fd once per set it is ready in.
      ready -= __builtin_popcount(static_cast<unsigned>(mask));
    }
    return Napi::Number::New(env, static_cast<double>(count));
  }

  // maxFd: the highest watched fd, or -1 (select() is called with nfds = maxFd + 1).
  Napi::Value MaxFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), max_fd_); }

  bool Watched(int fd) const {
    return FD_ISSET(fd, &read_) || FD_ISSET(fd, &write_) || FD_ISSET(fd, &except_);
  }

  fd_set read_, write_, except_;
  int max_fd_ = -1;
};

}  // namespace

void InitSelect(Napi::Env env, Napi::Object exports) {
  exports.Set("Selector", Selector::Define(env));
  exports.Set("FD_SETSIZE", Napi::Number::New(env, FD_SETSIZE));
}

}  // namespace selectchat
