// epoll: an Epoller owns one epoll instance; ctl() and wait() are one system call each.
//
// The interest list lives in the kernel, so unlike select() and poll() nothing is handed over
// per call: ctl() edits it when interest changes, and wait() gets back only the ready fds, into
// a buffer the Epoller keeps (grown to the caller's out array, never allocated per call).
// Level-triggered like select() and poll(): an fd left ready is reported again at every wait().
#include "epoll.h"

#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "mask.h"

namespace selectchat {
namespace {

// The most events one epoll_wait() accepts (the kernel's EP_MAX_EVENTS); more is EINVAL.
constexpr size_t kMaxEvents = INT_MAX / sizeof(epoll_event);

// Interest bits → the events epoll watches; no EPOLLET, so readiness is level-triggered.
uint32_t EpollEvents(int mask) {
  uint32_t events = 0;
  if (mask & kReadable) events |= EPOLLIN;
  if (mask & kWritable) events |= EPOLLOUT;
  if (mask & kException) events |= EPOLLPRI;
  return events;
}

// epoll's events → result bits. EPOLLHUP and EPOLLERR come unasked, even for interest 0.
int Mask(uint32_t events) {
  int mask = 0;
  if (events & EPOLLIN) mask |= kReadable;
  if (events & EPOLLOUT) mask |= kWritable;
  if (events & EPOLLPRI) mask |= kException;
  if (events & EPOLLHUP) mask |= kHangup;
  if (events & EPOLLERR) mask |= kError;
  return mask;
}

class Epoller : public Napi::ObjectWrap<Epoller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Epoller",
                       {InstanceMethod<&Epoller::Ctl>("ctl"),
                        InstanceMethod<&Epoller::Wait>("wait"),
                        InstanceMethod<&Epoller::Close>("close"),
                        InstanceAccessor<&Epoller::Fd>("fd")});
  }

  // new Epoller(): epoll_create1(EPOLL_CLOEXEC). On failure `new` throws and fd_ stays -1.
  explicit Epoller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Epoller>(info) {
    fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (fd_ < 0) ThrowErrno(info.Env(), errno, "epoll_create1");
  }

  // An Epoller that JavaScript dropped without close() gives its fd back when collected.
  ~Epoller() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  // ctl(op, fd, mask): one epoll_ctl() adding (EPOLL_CTL_ADD), changing (EPOLL_CTL_MOD) or
  // removing (EPOLL_CTL_DEL) fd's interest in the events in mask; wait() reports it by fd.
  Napi::Value Ctl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t op, mask;
    int fd;
    if (!IntegerArg(info, 0, "op", INT_MIN, INT_MAX, &op) || !FdArg(info, 1, &fd) ||
        !IntegerArg(info, 2, "mask", 0, kAllEvents, &mask))
      return Napi::Value();
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) {
      std::string message =
          "The \"op\" argument must be EPOLL_CTL_ADD, EPOLL_CTL_MOD or EPOLL_CTL_DEL, got " +
          std::to_string(op);
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", message.c_str());
      return Napi::Value();
    }
    if (!Open(env)) return Napi::Value();
    epoll_event event = {};
    event.events = EpollEvents(static_cast<int>(mask));
    event.data.fd = fd;
    if (epoll_ctl(fd_, static_cast<int>(op), fd, &event) < 0) {
      ThrowErrno(env, errno, "epoll_ctl");
      return Napi::Value();
    }
    return env.Undefined();
  }

  // wait(timeoutMs, out): one epoll_wait() (timeout -1: none, 0: poll; fractions round up).
  // Writes (fd, mask) pairs into the Int32Array out, no more than it holds, and returns how
  // many; or -EINTR when a signal interrupted the wait.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int timeout_ms;
    int32_t* out;
    size_t capacity;
    // With no room for one answer, a ready fd would look like a timeout and the loop spin.
    if (!WholeMsTimeoutArg(info, 0, &timeout_ms) ||
        !Int32ArrayArg(info, 1, "out", 2, &out, &capacity) || !Open(env))
      return Napi::Value();
    size_t pairs = std::min(capacity / 2, kMaxEvents);
    // The buffer only grows: a loop passing the same out array allocates once.
    if (events_.size() < pairs) events_.resize(pairs);

    int ready = epoll_wait(fd_, events_.data(), static_cast<int>(pairs), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) return Napi::Number::New(env, -EINTR);
      ThrowErrno(env, errno, "epoll_wait");
      return Napi::Value();
    }
    for (int i = 0; i < ready; i++) {
      out[2 * i] = events_[i].data.fd;
      out[2 * i + 1] = Mask(events_[i].events);
    }
    return Napi::Number::New(env, ready);
  }

  // close(): closes the epoll fd; later calls do nothing. Never retried on EINTR, as close(fd).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      int fd = fd_;
      // Forgotten before close() so that it is closed once, even if close() reports a failure.
      fd_ = -1;
      if (close(fd) < 0 && errno != EINTR) {
        ThrowErrno(info.Env(), errno, "close");
        return Napi::Value();
      }
    }
    return info.Env().Undefined();
  }

  // fd: the epoll instance's fd, or -1 once closed.
  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  // After close() the number may already name another open file: it must never reach a call.
  bool Open(Napi::Env env) {
    if (fd_ >= 0) return true;
    ThrowError(env, "ERR_EPOLL_CLOSED", "The Epoller is closed");
    return false;
  }

  int fd_ = -1;
  // Where epoll_wait() writes the ready events, before they become (fd, mask) pairs.
  std::vector<epoll_event> events_;
};

}  // namespace

void InitEpoll(Napi::Env env, Napi::Object exports) {
  exports.Set("Epoller", Epoller::Define(env));
  exports.Set("EPOLL_CTL_ADD", Napi::Number::New(env, EPOLL_CTL_ADD));
  exports.Set("EPOLL_CTL_MOD", Napi::Number::New(env, EPOLL_CTL_MOD));
  exports.Set("EPOLL_CTL_DEL", Napi::Number::New(env, EPOLL_CTL_DEL));
}

}  // namespace selectchat
