// The event bits JavaScript passes and receives, shared by every multiplexer.
#pragma once

namespace selectchat {

// Interest and result bits: one per select() set.
constexpr int kReadable = 1;
constexpr int kWritable = 2;
constexpr int kException = 4;
// Every interest a multiplexer accepts.
constexpr int kAllEvents = kReadable | kWritable | kException;

}  // namespace selectchat
