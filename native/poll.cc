// poll(): a Poller keeps the pollfd array between calls and hands it to the kernel as it is.
//
// poll() reads each entry's interest (events) and writes the answer beside it (revents), so
// unlike select()'s sets the array needs no copy: set() edits it when interest changes, in O(1)
// through an fd → slot index, and wait() is one poll() plus a scan for non-zero revents. There
// is no FD_SETSIZE: any fd the process can open can be watched.
#include "poll.h"

#include <errno.h>
#include <poll.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "args.h"
#include "errors.h"
#include "mask.h"

namespace selectchat {
namespace {

// Interest bits → the events poll() watches.
short PollEvents(int mask) {
  short events = 0;
  if (mask & kReadable) events |= POLLIN;
  if (mask & kWritable) events |= POLLOUT;
  if (mask & kException) events |= POLLPRI;
  return events;
}

// poll()'s events or revents → mask bits. POLLHUP, POLLERR and POLLNVAL come unasked.
int Mask(short events) {
  int mask = 0;
  if (events & POLLIN) mask |= kReadable;
  if (events & POLLOUT) mask |= kWritable;
  if (events & POLLPRI) mask |= kException;
  if (events & POLLHUP) mask |= kHangup;
  if (events & POLLERR) mask |= kError;
  if (events & POLLNVAL) mask |= kInvalid;
  return mask;
}

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {InstanceMethod<&Poller::Set>("set"),
                        InstanceMethod<&Poller::Wait>("wait"),
                        InstanceMethod<&Poller::Entries>("entries"),
                        InstanceAccessor<&Poller::Size>("size")});
  }

  explicit Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {}

 private:
  // set(fd, mask): watch fd for the events in mask (READABLE | WRITABLE | EXCEPTION) instead of
  // what it was watched for; mask 0 takes it out of the array.
  Napi::Value Set(const Napi::CallbackInfo& info) {
    int fd;
    int64_t mask;
    if (!FdArg(info, 0, &fd) || !IntegerArg(info, 1, "mask", 0, kAllEvents, &mask))
      return Napi::Value();
    auto slot = slots_.find(fd);
    if (mask == 0) {
      if (slot != slots_.end()) Remove(slot);
    } else if (slot == slots_.end()) {
      slots_.emplace(fd, fds_.size());
      fds_.push_back({fd, PollEvents(static_cast<int>(mask)), 0});
    } else {
      pollfd& entry = fds_[slot->second];
      entry.events = PollEvents(static_cast<int>(mask));
      // The old revents answered the old interest: this entry has no answer until the next poll().
      entry.revents = 0;
    }
    return info.Env().Undefined();
  }

  // Takes an entry out in O(1): the last entry moves into its slot.
  void Remove(std::unordered_map<int, size_t>::iterator slot) {
    size_t hole = slot->second;
    slots_.erase(slot);
    if (hole != fds_.size() - 1) {
      fds_[hole] = fds_.back();
      slots_[fds_[hole].fd] = hole;
    }
    fds_.pop_back();
  }

  // wait(timeoutMs, out): one poll() on the array (timeout -1: none, 0: poll; fractions round
  // up). Writes (fd, mask) pairs into the Int32Array out, in array order and no more than it
  // holds, and returns how many; or -EINTR when a signal interrupted the wait.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int timeout_ms;
    int32_t* out;
    size_t capacity;
    // With no room for one answer, a ready fd would look like a timeout and the loop spin.
    if (!WholeMsTimeoutArg(info, 0, &timeout_ms) ||
        !Int32ArrayArg(info, 1, "out", 2, &out, &capacity))
      return Napi::Value();
    size_t pairs = capacity / 2;

    int ready = poll(fds_.data(), fds_.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) return Napi::Number::New(env, -EINTR);
      ThrowErrno(env, errno, "poll");
      return Napi::Value();
    }
    size_t count = 0;
    // poll() counts the entries with a non-zero revents, so the scan stops at the last of them.
    for (size_t i = 0; i < fds_.size() && ready > 0 && count < pairs; i++) {
      if (fds_[i].revents == 0) continue;
      out[2 * count] = fds_[i].fd;
      out[2 * count + 1] = Mask(fds_[i].revents);
      count++;
      ready--;
    }
    return Napi::Number::New(env, static_cast<double>(count));
  }

  // entries(out): for the trace. Writes (fd, interest, result) triples in array order: the
  // interest the next poll() passes, and the answer the last poll() wrote beside it (0 for an
  // entry set() since). Returns how many triples it wrote: fewer than size when out is short.
  Napi::Value Entries(const Napi::CallbackInfo& info) {
    int32_t* out;
    size_t capacity;
    if (!Int32ArrayArg(info, 0, "out", 0, &out, &capacity)) return Napi::Value();
    size_t count = std::min(fds_.size(), capacity / 3);
    for (size_t i = 0; i < count; i++) {
      out[3 * i] = fds_[i].fd;
      out[3 * i + 1] = Mask(fds_[i].events);
      out[3 * i + 2] = Mask(fds_[i].revents);
    }
    return Napi::Number::New(info.Env(), static_cast<double>(count));
  }

  // size: how many entries the array holds, the nfds of the next poll().
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(fds_.size()));
  }

  // What poll() is handed: one entry per watched fd, in no particular order.
  std::vector<pollfd> fds_;
  // fd → its entry's index in fds_.
  std::unordered_map<int, size_t> slots_;
};

}  // namespace

void InitPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", Poller::Define(env));
}

}  // namespace selectchat
