{
  "targets": [
    {
      "target_name": "selectchat",
      "sources": [
        "native/args.cc",
        "native/batch.cc",
        "native/epoll.cc",
        "native/errors.cc",
        "native/module.cc",
        "native/poll.cc",
        "native/select.cc",
        "native/sockets.cc",
        "native/uvloop.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "selectchat-loadgen",
      "type": "executable",
      "sources": ["native/bench/loadgen.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "selectchat-cref",
      "type": "executable",
      "sources": ["native/bench/refserver.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "selectchat-selectcost",
      "type": "executable",
      "sources": ["native/bench/selectcost.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
