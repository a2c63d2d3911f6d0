{
  "targets": [
    {
      "target_name": "zkp_native",
      "sources": ["native/addon.cc", "native/msm.cc", "native/ntt.cc", "native/abc.cc", "native/fixed_base.cc", "native/verify.cc", "native/memory.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=x86-64-v3", "-fno-strict-aliasing", "-Wno-maybe-uninitialized"],
      "ldflags": ["-pthread"]
    },
    {
      "target_name": "zkp_fs_lock",
      "sources": ["native/fs_lock.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2"]
    }
  ]
}
