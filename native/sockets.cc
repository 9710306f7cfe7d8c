// POSIX socket calls, one JS function per system call: all sockets are non-blocking.
//
// Expected outcomes on the hot path are return values, never exceptions: recv/send
// return -EAGAIN when the kernel has nothing to give or no room, recv returns 0 at EOF, accept
// returns null when no connection is pending. Every other failure throws a Node-shaped Error.
#include "sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"

namespace selectchat {
namespace {

// Parses a numeric IPv4 or IPv6 address and a port into addr; throws on a bad address.
bool ParseAddress(Napi::Env env, const std::string& host, int64_t port, sockaddr_storage* addr,
                  socklen_t* len) {
  memset(addr, 0, sizeof(*addr));
  // inet_pton() stops at a NUL, so "127.0.0.1\0junk" would pass for 127.0.0.1.
  bool clean = host.find('\0') == std::string::npos;
  auto* v4 = reinterpret_cast<sockaddr_in*>(addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(addr);
  if (clean && inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(*v4);
    return true;
  }
  if (clean && inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(*v6);
    return true;
  }
  Napi::Error error = Napi::TypeError::New(env, "Invalid IP address: " + host);
  error.Set("code", Napi::String::New(env, "ERR_INVALID_IP_ADDRESS"));
  error.ThrowAsJavaScriptException();
  return false;
}

// Reads (fd, address, port) arguments, the shape bind() and connect() share.
bool EndpointArgs(const Napi::CallbackInfo& info, int* fd, sockaddr_storage* addr,
                  socklen_t* len) {
  std::string host;
  int64_t port;
  return FdArg(info, 0, fd) && StringArg(info, 1, "address", &host) &&
         IntegerArg(info, 2, "port", 0, 65535, &port) &&
         ParseAddress(info.Env(), host, port, addr, len);
}

// Turns a socket address into { address, port, family } as Node's net module reports it.
Napi::Object AddressObject(Napi::Env env, const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  const char* family = "unknown";
  if (addr.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
    family = "IPv4";
  } else if (addr.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    port = ntohs(v6->sin6_port);
    family = "IPv6";
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("address", Napi::String::New(env, text));
  result.Set("port", Napi::Number::New(env, port));
  result.Set("family", Napi::String::New(env, family));
  return result;
}

// Would this errno from recv/send/accept mean "try again later"?
inline bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// socket(family, type): a new non-blocking, close-on-exec socket.
Napi::Value Socket(const Napi::CallbackInfo& info) {
  int64_t family, type;
  if (!IntegerArg(info, 0, "family", 0, INT32_MAX, &family) ||
      !IntegerArg(info, 1, "type", 0, INT32_MAX, &type))
    return Napi::Value();
  int fd = socket(static_cast<int>(family), static_cast<int>(type) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  0);
  if (fd < 0) {
    ThrowErrno(info.Env(), errno, "socket");
    return Napi::Value();
  }
  return Napi::Number::New(info.Env(), fd);
}

// bind(fd, address, port). An IPv6 socket is made v6-only first, so "::1" never means IPv4.
Napi::Value Bind(const Napi::CallbackInfo& info) {
  int fd;
  sockaddr_storage addr;
  socklen_t len;
  if (!EndpointArgs(info, &fd, &addr, &len)) return Napi::Value();
  int domain = 0;
  socklen_t domain_len = sizeof(domain);
  getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &domain_len);
  if (addr.ss_family == AF_INET6 && domain == AF_INET6) {
    int on = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) {
      ThrowErrno(info.Env(), errno, "setsockopt");
      return Napi::Value();
    }
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
    ThrowErrno(info.Env(), errno, "bind");
    return Napi::Value();
  }
  return info.Env().Undefined();
}

// listen(fd, backlog).
Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd;
  int64_t backlog;
  if (!FdArg(info, 0, &fd) || !IntegerArg(info, 1, "backlog", 0, INT32_MAX, &backlog))
    return Napi::Value();
  if (listen(fd, static_cast<int>(backlog)) < 0) {
    ThrowErrno(info.Env(), errno, "listen");
    return Napi::Value();
  }
  return info.Env().Undefined();
}

// accept(fd): { fd, address, port, family } for the next pending connection, or null if none.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, 0, &fd)) return Napi::Value();
  sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  int client = accept4(fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (client < 0) {
    // ECONNABORTED: the peer gave up while queued; EINTR: a signal. Neither is the listener's
    // failure, and the listening socket stays readable if more connections wait.
    if (WouldBlock(errno) || errno == ECONNABORTED || errno == EINTR) return env.Null();
    ThrowErrno(env, errno, "accept");
    return Napi::Value();
  }
  Napi::Object result = AddressObject(env, addr);
  result.Set("fd", Napi::Number::New(env, client));
  return result;
}

// connect(fd, address, port): 0 if connected at once, -EINPROGRESS while the handshake runs
// (the socket turns writable when it ends; read the outcome with getsockopt(SO_ERROR)).
Napi::Value Connect(const Napi::CallbackInfo& info) {
  int fd;
  sockaddr_storage addr;
  socklen_t len;
  if (!EndpointArgs(info, &fd, &addr, &len)) return Napi::Value();
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
    if (errno == EINPROGRESS) return Napi::Number::New(info.Env(), -EINPROGRESS);
    ThrowErrno(info.Env(), errno, "connect");
    return Napi::Value();
  }
  return Napi::Number::New(info.Env(), 0);
}

// recv(fd, buffer, offset, length): bytes read into buffer[offset..], 0 at EOF, or -EAGAIN.
// length must be at least 1: a zero-byte read would return 0, which means EOF.
Napi::Value Recv(const Napi::CallbackInfo& info) {
  int fd;
  uint8_t* data;
  size_t length;
  if (!FdArg(info, 0, &fd) || !BufferRangeArgs(info, 1, &data, &length)) return Napi::Value();
  if (length == 0) {
    ThrowRangeError(info.Env(), "ERR_OUT_OF_RANGE", "The \"length\" argument of recv must be >= 1");
    return Napi::Value();
  }
  ssize_t n;
  do {
    n = recv(fd, data, length, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (WouldBlock(errno)) return Napi::Number::New(info.Env(), -EAGAIN);
    ThrowErrno(info.Env(), errno, "recv");
    return Napi::Value();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// send(fd, buffer, offset, length): bytes written (often fewer than asked), or -EAGAIN.
// MSG_NOSIGNAL turns a write to a closed peer into EPIPE instead of a process-killing SIGPIPE.
Napi::Value Send(const Napi::CallbackInfo& info) {
  int fd;
  uint8_t* data;
  size_t length;
  if (!FdArg(info, 0, &fd) || !BufferRangeArgs(info, 1, &data, &length)) return Napi::Value();
  ssize_t n;
  do {
    n = send(fd, data, length, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (WouldBlock(errno)) return Napi::Number::New(info.Env(), -EAGAIN);
    ThrowErrno(info.Env(), errno, "send");
    return Napi::Value();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// shutdown(fd, how): SHUT_RD, SHUT_WR or SHUT_RDWR (TypeScript needs only SHUT_WR).
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  int fd;
  int64_t how;
  if (!FdArg(info, 0, &fd) || !IntegerArg(info, 1, "how", 0, 2, &how)) return Napi::Value();
  if (shutdown(fd, static_cast<int>(how)) < 0) {
    ThrowErrno(info.Env(), errno, "shutdown");
    return Napi::Value();
  }
  return info.Env().Undefined();
}

// close(fd). Never retried on EINTR: Linux has already released the fd when close() returns
// EINTR, so a retry could close an fd that another part of the process just opened.
Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd;
  if (!FdArg(info, 0, &fd)) return Napi::Value();
  if (close(fd) < 0 && errno != EINTR) {
    ThrowErrno(info.Env(), errno, "close");
    return Napi::Value();
  }
  return info.Env().Undefined();
}

// setsockopt(fd, level, name, value) for integer options. For SO_LINGER, value is the linger
// time in seconds (0 makes close() send RST at once: an abortive close); a negative value
// turns lingering off.
Napi::Value SetSockOpt(const Napi::CallbackInfo& info) {
  int fd;
  int64_t level, name, value;
  if (!FdArg(info, 0, &fd) || !IntegerArg(info, 1, "level", 0, INT32_MAX, &level) ||
      !IntegerArg(info, 2, "name", 0, INT32_MAX, &name) ||
      !IntegerArg(info, 3, "value", INT32_MIN, INT32_MAX, &value))
    return Napi::Value();
  int rc;
  if (level == SOL_SOCKET && name == SO_LINGER) {
    linger option = {value >= 0 ? 1 : 0, value >= 0 ? static_cast<int>(value) : 0};
    rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  } else {
    int option = static_cast<int>(value);
    rc = setsockopt(fd, static_cast<int>(level), static_cast<int>(name), &option, sizeof(option));
  }
  if (rc < 0) {
    ThrowErrno(info.Env(), errno, "setsockopt");
    return Napi::Value();
  }
  return info.Env().Undefined();
}

// getsockopt(fd, level, name) for integer options, e.g. SO_ERROR after a non-blocking connect.
// SO_LINGER reads back as setsockopt takes it: seconds, or -1 when lingering is off.
Napi::Value GetSockOpt(const Napi::CallbackInfo& info) {
  int fd;
  int64_t level, name;
  if (!FdArg(info, 0, &fd) || !IntegerArg(info, 1, "level", 0, INT32_MAX, &level) ||
      !IntegerArg(info, 2, "name", 0, INT32_MAX, &name))
    return Napi::Value();
  if (level == SOL_SOCKET && name == SO_LINGER) {
    linger option = {};
    socklen_t len = sizeof(option);
    if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &option, &len) < 0) {
      ThrowErrno(info.Env(), errno, "getsockopt");
      return Napi::Value();
    }
    return Napi::Number::New(info.Env(), option.l_onoff ? option.l_linger : -1);
  }
  int option = 0;
  socklen_t len = sizeof(option);
  if (getsockopt(fd, static_cast<int>(level), static_cast<int>(name), &option, &len) < 0) {
    ThrowErrno(info.Env(), errno, "getsockopt");
    return Napi::Value();
  }
  return Napi::Number::New(info.Env(), option);
}

// outq(fd): the bytes in the socket's send queue, unsent or not yet acknowledged
// (ioctl SIOCOUTQ). A peer that reads, however slowly, makes it go down; one that stopped
// reading leaves it where it is, whatever we try to send.
Napi::Value OutQ(const Napi::CallbackInfo& info) {
  int fd;
  if (!FdArg(info, 0, &fd)) return Napi::Value();
  int bytes = 0;
  if (ioctl(fd, SIOCOUTQ, &bytes) < 0) {
    ThrowErrno(info.Env(), errno, "ioctl");
    return Napi::Value();
  }
  return Napi::Number::New(info.Env(), bytes);
}

// getsockname(fd) / getpeername(fd): { address, port, family }.
template <int (*Call)(int, sockaddr*, socklen_t*)>
Napi::Value SocketAddress(const Napi::CallbackInfo& info, const char* syscall) {
  int fd;
  if (!FdArg(info, 0, &fd)) return Napi::Value();
  sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  if (Call(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    ThrowErrno(info.Env(), errno, syscall);
    return Napi::Value();
  }
  return AddressObject(info.Env(), addr);
}

Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  return SocketAddress<getsockname>(info, "getsockname");
}

Napi::Value GetPeerName(const Napi::CallbackInfo& info) {
  return SocketAddress<getpeername>(info, "getpeername");
}

}  // namespace

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("setsockopt", Napi::Function::New(env, SetSockOpt, "setsockopt"));
  exports.Set("getsockopt", Napi::Function::New(env, GetSockOpt, "getsockopt"));
  exports.Set("outq", Napi::Function::New(env, OutQ, "outq"));
  exports.Set("getsockname", Napi::Function::New(env, GetSockName, "getsockname"));
  exports.Set("getpeername", Napi::Function::New(env, GetPeerName, "getpeername"));
}

}  // namespace selectchat
