{
  "targets": [
    {
      "target_name": "selectchat",
      "sources": [
        "native/args.cc",
        "native/errors.cc",
        "native/module.cc",
        "native/select.cc",
        "native/sockets.cc",
        "native/uvloop.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
