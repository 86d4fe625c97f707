{
  "targets": [
    {
      "target_name": "netqos",
      "sources": ["<!@(node scripts/native-sources.js)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "<!@(pkg-config --cflags libmnl)"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "libraries": ["<!@(pkg-config --libs libmnl)"]
    },
    {
      "target_name": "netqos-cni",
      "type": "executable",
      "sources": ["lib/cni/shim/netqos-cni.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
