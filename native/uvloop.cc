// Node's own event loop, seen from outside: what a blocking select() needs to stay a good guest.
#include "uvloop.h"

#include <uv.h>

#include "errors.h"

namespace selectchat {
namespace {

// The libuv loop this Node environment runs on.
uv_loop_t* NodeLoop(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  return loop;
}

// uvBackendFd(): libuv's epoll fd. It turns readable when Node has I/O to handle (a signal's
// self-pipe, stdin, a child's exit), so a select() that watches it wakes up for Node too.
Napi::Value UvBackendFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), uv_backend_fd(NodeLoop(info.Env())));
}

}  // namespace

void InitUvLoop(Napi::Env env, Napi::Object exports) {
  exports.Set("uvBackendFd", Napi::Function::New(env, UvBackendFd, "uvBackendFd"));
}

}  // namespace selectchat
