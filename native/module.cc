// Module init: the addon's exports, and the constants TypeScript needs to call it.
#include <errno.h>
#include <napi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "epoll.h"
#include "mask.h"
#include "poll.h"
#include "batch.h"
#include "select.h"
#include "sockets.h"
#include "uvloop.h"

namespace selectchat {
namespace {

// Exposes the numeric constants of <sys/socket.h>, <netinet/*.h> and <errno.h> that we use.
void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  const struct {
    const char* name;
    int value;
  } constants[] = {
      {"AF_INET", AF_INET},         {"AF_INET6", AF_INET6},       {"SOCK_STREAM", SOCK_STREAM},
      {"SHUT_WR", SHUT_WR},
      {"SOL_SOCKET", SOL_SOCKET},   {"SO_REUSEADDR", SO_REUSEADDR}, {"SO_LINGER", SO_LINGER},
      {"SO_REUSEPORT", SO_REUSEPORT},
      {"SO_RCVBUF", SO_RCVBUF},     {"SO_SNDBUF", SO_SNDBUF},     {"SO_ERROR", SO_ERROR},
      {"IPPROTO_TCP", IPPROTO_TCP}, {"TCP_NODELAY", TCP_NODELAY}, {"EAGAIN", EAGAIN},
      {"EINTR", EINTR},             {"EINPROGRESS", EINPROGRESS},
  };
  for (const auto& constant : constants) c.Set(constant.name, constant.value);
  exports.Set("constants", c);
}

// Exposes the event bits that multiplexers take as interest and give back as results.
void InitMasks(Napi::Env env, Napi::Object exports) {
  exports.Set("READABLE", Napi::Number::New(env, kReadable));
  exports.Set("WRITABLE", Napi::Number::New(env, kWritable));
  exports.Set("EXCEPTION", Napi::Number::New(env, kException));
  exports.Set("HANGUP", Napi::Number::New(env, kHangup));
  exports.Set("ERROR", Napi::Number::New(env, kError));
  exports.Set("INVALID", Napi::Number::New(env, kInvalid));
}

}  // namespace

// The module's entry point: called once per Node environment that loads the addon.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitConstants(env, exports);
  InitMasks(env, exports);
  InitSockets(env, exports);
  InitBatch(env, exports);
  InitSelect(env, exports);
  InitPoll(env, exports);
  InitEpoll(env, exports);
  InitUvLoop(env, exports);
  return exports;
}

}  // namespace selectchat

using selectchat::Init;
NODE_API_MODULE(selectchat, Init)
