#!/usr/bin/env bash
# Builds the engine with AddressSanitizer + UndefinedBehaviorSanitizer (CMake, build-asan/ at the
# repository root) and runs test/native/engine_check and test/native/nft_check in a throwaway
# network namespace holding a veth pair v0/v1. The namespace is removed on every exit. Needs root (ip netns, rtnetlink).
#
#   bash test/native/run-asan.sh          exit status is engine_check's (or the build's)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$ROOT/build-asan"
JOBS="$(nproc 2>/dev/null || echo 2)"

cmake -S "$ROOT/native" -B "$BUILD" -DNETQOS_SANITIZE=ON >/dev/null
cmake --build "$BUILD" --target engine_check nft_check -j "$JOBS"

NS="nqa-$$-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up

echo "engine_check in namespace $NS"
status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$BUILD/engine_check" "$NS" || status=$?

echo "nft_check in namespace $NS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$BUILD/nft_check" "$NS" || status=$?
exit "$status"
