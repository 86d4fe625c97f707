#!/usr/bin/env bash
# Everything netqos needs on a fresh Debian 12 machine (run as root, in the checkout):
# the compiler and libmnl for the native engine, clang with libFuzzer for its fuzzers,
# iproute2/iperf3/ping for the lab and tests, nft (the reference for the nf_tables fixtures and
# kernel tests), User-Mode Linux for the tc modules this kernel lacks, the CNI plugins and
# pyroute2 that the benchmarks compare against, containerd + runc and busybox-static (its pause image) for the
# end-to-end tests under a real runtime; then the npm dependencies, which also build the addon
# and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential python3 pkg-config libmnl-dev cmake clang-format clang libclang-rt-14-dev \
  iproute2 iputils-ping iperf3 strace util-linux tmux nftables \
  user-mode-linux kmod \
  containernetworking-plugins python3-pyroute2 \
  containerd runc busybox-static >/dev/null
# node-gyp builds against the installed Node's own headers when the distribution ships them.
if [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
npm_config_build_from_source=true npm ci --no-audit --no-fund # compile the engine even when build/ has one
