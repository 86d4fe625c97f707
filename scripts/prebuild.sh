#!/usr/bin/env bash
# The prebuilt binaries the npm package ships: the addon (one Node-API build, NAPI_VERSION 8,
# for every Node the package supports) and the CNI shim, per architecture, into
#   prebuilds/linux-<arch>/netqos.napi.glibc.node   (node-gyp-build's naming; lib/netlink/binding.ts)
#   prebuilds/linux-<arch>/netqos-cni.glibc          (lib/cni/install.ts)
# Each is built by node-gyp in a scratch copy of the sources the package ships, so build/ (a
# development build) is left alone and those sources are known to build; then stripped, checked
# for its architecture and, when this machine can run it, loaded once.
#
#   bash scripts/prebuild.sh [--clean] [ARCH...]   ARCH: x64, arm64 (default: this machine's, plus
#                                                  $NETQOS_PREBUILD_ARCH, e.g. "arm64")
#   bash scripts/prebuild.sh --setup arm64         installs the cross toolchain (Debian, as root):
#                                                  g++-aarch64-linux-gnu, libmnl-dev:arm64, qemu-user-static
# npm pack and npm publish run `prebuild.sh --clean` (prepack): prebuilds/ is made afresh, never
# committed. An arm64 prebuild from an x64 machine is smoke-tested under qemu-user when
# qemu-aarch64-static is installed: the shim runs, and the addon loads with every symbol bound.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 1>&2 # progress only: `npm pack --json` keeps standard output for its report
root=$PWD

host=$(node -p process.arch)
# As scripts/setup.sh: node-gyp builds against the installed Node's own headers when the
# distribution ships them (it would download them otherwise).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
triplet() { case $1 in x64) echo x86_64-linux-gnu ;; arm64) echo aarch64-linux-gnu ;; *) return 1 ;; esac; }
machine() { case $1 in x64) echo 'X86-64' ;; arm64) echo 'AArch64' ;; esac; }

if [ "${1:-}" = --setup ]; then
  arch=${2:?usage: prebuild.sh --setup arm64}
  [ "$arch" = arm64 ] || { echo "prebuild: --setup knows arm64 only" >&2; exit 2; }
  export DEBIAN_FRONTEND=noninteractive
  dpkg --add-architecture arm64
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu libmnl-dev:arm64 \
    qemu-user-static >/dev/null
  exit 0
fi

clean=0
if [ "${1:-}" = --clean ]; then clean=1; shift; fi
# shellcheck disable=SC2206 # a list of words on purpose
arches=(${@:-$host ${NETQOS_PREBUILD_ARCH:-}})
[ "$clean" -eq 1 ] && rm -rf prebuilds

declare -A done_arch=()
for arch in "${arches[@]}"; do
  [ -n "${done_arch[$arch]:-}" ] && continue
  done_arch[$arch]=1
  gnu=$(triplet "$arch") || { echo "prebuild: unknown architecture $arch (x64, arm64)" >&2; exit 2; }
  env=()
  prefix=
  if [ "$arch" != "$host" ]; then
    prefix=$gnu-
    if ! command -v "${prefix}g++" >/dev/null || [ ! -e "/usr/lib/$gnu/pkgconfig/libmnl.pc" ]; then
      echo "prebuild: no cross toolchain for $arch: run \`bash scripts/prebuild.sh --setup $arch\` as root" >&2
      echo "  (or run this script on a $arch machine with build-essential, pkg-config and libmnl-dev)" >&2
      exit 1
    fi
    env=(CC="${prefix}gcc" CXX="${prefix}g++" PKG_CONFIG_LIBDIR="/usr/lib/$gnu/pkgconfig:/usr/share/pkgconfig")
  fi

  work=$(mktemp -d /tmp/netqos-prebuild.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  cp -r package.json binding.gyp native "$work/"
  mkdir -p "$work/scripts" "$work/lib/cni"
  cp scripts/native-sources.js "$work/scripts/"
  cp -r lib/cni/shim "$work/lib/cni/"
  ln -s "$root/node_modules" "$work/node_modules"
  echo "prebuild: linux-$arch in $work"
  (cd "$work" && env "${env[@]}" "$root/node_modules/.bin/node-gyp" rebuild --arch="$arch" -j "$(nproc)" >build.log 2>&1) ||
    { tail -40 "$work/build.log" >&2; exit 1; }

  out=prebuilds/linux-$arch
  rm -rf "$out"
  mkdir -p "$out"
  "${prefix}strip" --strip-unneeded -o "$out/netqos.napi.glibc.node" "$work/build/Release/netqos.node"
  "${prefix}strip" --strip-all -o "$out/netqos-cni.glibc" "$work/build/Release/netqos-cni"
  for f in "$out"/*; do
    readelf -h "$f" | grep -q "Machine:.*$(machine "$arch")" || { echo "prebuild: $f is not $arch" >&2; exit 1; }
  done

  # Without an install trailer and with no server at the socket, the shim says so in CNI's JSON.
  shim_runs() {
    local said
    said=$(NETQOS_CNI_SOCKET="$work/none.sock" "$@" </dev/null 2>&1) || true
    [[ $said == *'no install trailer'* ]]
  }
  if [ "$arch" = "$host" ]; then
    node -e 'if (!require(process.argv[1]).kinds().qdisc.includes("tbf")) process.exit(1)' "$root/$out/netqos.napi.glibc.node"
    shim_runs "$out/netqos-cni.glibc" || { echo "prebuild: $out/netqos-cni.glibc does not run" >&2; exit 1; }
    echo "prebuild: $out: the addon loads, the shim runs"
  elif [ "$arch" = arm64 ] && command -v qemu-aarch64-static >/dev/null; then
    qemu=(qemu-aarch64-static -L "/usr/$gnu" -E "LD_LIBRARY_PATH=/usr/lib/$gnu:/usr/$gnu/lib")
    shim_runs "${qemu[@]}" "$out/netqos-cni.glibc" || { echo "prebuild: $out: the shim does not run under qemu" >&2; exit 1; }
    # No Node here for arm64 (Node under qemu-user 7.2 hangs at start): a program that stands in
    # for it, its Node-API and libuv functions stubbed, dlopen()s the addon with every symbol
    # bound: its libraries (libmnl, libstdc++, the C library) and their versions are all there,
    # and its static constructors run.
    addon="$out/netqos.napi.glibc.node"
    {
      "${prefix}readelf" --dyn-syms -W "$addon" |
        awk '$5 == "GLOBAL" && $7 == "UND" && $8 != "" && $8 !~ /@/ { print "void " $8 "(void) {}" }'
      printf '%s\n' '#include <dlfcn.h>' '#include <stdio.h>' \
        'int main(int c, char** v) { void* h = dlopen(v[1], RTLD_NOW);' \
        '  if (!h || !dlsym(h, "napi_register_module_v1")) { fprintf(stderr, "%s\n", dlerror()); return 1; }' \
        '  return 0; }'
    } >"$work/load.c"
    "${prefix}gcc" -rdynamic -o "$work/load" "$work/load.c" -ldl
    "${qemu[@]}" "$work/load" "$addon" || { echo "prebuild: $addon does not load under qemu" >&2; exit 1; }
    echo "prebuild: $out: the shim runs and the addon loads (all symbols bound) under qemu"
  else
    echo "prebuild: $out: not run (cannot run $arch here; qemu-aarch64-static runs arm64)"
  fi
  rm -rf "$work"
  trap - EXIT
done
ls -l prebuilds/*/
