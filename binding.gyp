{
  "targets": [
    {
      "target_name": "netqos",
      "sources": [
        "native/addon.cc",
        "native/napi_fields.cc",
        "native/socket.cc",
        "native/monitor.cc",
        "native/records.cc",
        "native/message.cc",
        "native/operation.cc",
        "native/registry.cc",
        "native/qdisc/tbf.cc",
        "native/qdisc/ingress.cc",
        "native/qdisc/clsact.cc",
        "native/filter/u32.cc",
        "native/filter/matchall.cc",
        "native/action/action.cc",
        "native/action/police.cc",
        "native/action/mirred.cc",
        "native/action/pedit.cc",
        "native/action/csum.cc",
        "native/action/skbedit.cc",
        "native/action/gact.cc",
        "native/link/link.cc"
      ],
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
