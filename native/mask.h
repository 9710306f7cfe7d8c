// The event bits JavaScript passes and receives, shared by every multiplexer.
#pragma once

namespace selectchat {

// Interest and result bits: one per select() set; POLLIN/POLLOUT/POLLPRI, and EPOLL* alike.
constexpr int kReadable = 1;
constexpr int kWritable = 2;
constexpr int kException = 4;
// Every interest a multiplexer accepts; the bits below are results only.
constexpr int kAllEvents = kReadable | kWritable | kException;
// poll() and epoll report a hang-up (*HUP) and a pending socket error (*ERR) whether asked or not.
constexpr int kHangup = 8;
constexpr int kError = 16;
// poll() only: the fd is not open (POLLNVAL). A caller bug, reported rather than thrown.
constexpr int kInvalid = 32;

}  // namespace selectchat
