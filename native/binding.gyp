{
  "targets": [
    {
      "target_name": "daemonkit",
      "sources": [
        "binding.cc",
        "spawn.cc",
        "flock.cc",
        "rlimit.cc",
        "identity.cc",
        "socket.cc",
        "process.cc",
        "dirfd.cc",
        "poll.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        # Calls that can fail or run JavaScript return Napi::Maybe: see native/napi_util.h.
        "NODE_ADDON_API_ENABLE_MAYBE",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags": [ "-fvisibility=hidden", "-fstack-protector-strong", "-Wall", "-Wextra", "-Wno-unused-parameter" ],
      "cflags_cc": [ "-std=c++17", "-fvisibility=hidden", "-fstack-protector-strong", "-fno-exceptions" ],
      "conditions": [
        [ "OS=='linux'", {
          "sources": [ "platform_linux.cc", "glibcxx_compat.cc" ]
        } ],
        [ "OS=='mac'", {
          "sources": [ "platform_darwin.cc", "platform_unix.cc" ],
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CFLAGS": [ "-fstack-protector-strong", "-Wall", "-Wextra", "-Wno-unused-parameter" ]
          }
        } ],
        [ "OS!='linux' and OS!='mac' and OS!='win'", {
          "sources": [ "platform_posix.cc", "platform_unix.cc" ]
        } ],
        [ "OS=='win'", {
          "type": "none",
          "sources!": [
            "binding.cc", "spawn.cc", "flock.cc", "rlimit.cc",
            "identity.cc", "socket.cc", "process.cc", "dirfd.cc",
            "poll.cc"
          ]
        } ]
      ]
    }
  ]
}
