// epoll: an Epoller owns one epoll instance; ctl() and wait() are one system call each.
#pragma once

#include <napi.h>

namespace selectchat {

// Adds the Epoller class and EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL to exports.
void InitEpoll(Napi::Env env, Napi::Object exports);

}  // namespace selectchat
