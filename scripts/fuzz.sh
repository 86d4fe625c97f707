#!/usr/bin/env bash
# Fuzzes the native engine with libFuzzer under AddressSanitizer and UBSan (clang; fuzz/): the
# decoders of every reply and notification type and the field readers/encoders, each target from
# its seed corpus (fuzz/corpus/<target>/, real kernel replies and regression inputs) plus what
# earlier runs found (build-fuzz/work/<target>/).
#
#   bash scripts/fuzz.sh [--seconds N | --runs N] [--short] [--jobs N] [--merge] [TARGET...]
#
#   (no option)   npm run fuzz: 600 s per target (NETQOS_FUZZ_SECONDS overrides)
#   --short       what scripts/test.sh runs: 4 s per target, about a minute in all
#   --runs N      each target until N executions instead of a time
#   --jobs N      N targets at once (default 1; the machine is shared)
#   --merge       afterwards, fold new coverage into fuzz/corpus/<target>/ (minimized)
#
# Prints one line per target (executions, executions/s, edges covered, features, corpus) and
# "N passed, M failed"; a crashing input is kept in build-fuzz/artifacts/ and fails the run.
# Add the input to fuzz/corpus/<target>/regression-<what> with the fix.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"

seconds=${NETQOS_FUZZ_SECONDS:-600}
runs=
jobs=1
merge=0
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --short) seconds=${NETQOS_FUZZ_SECONDS:-4}; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is not installed (bash scripts/setup.sh installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
cmake -S "$ROOT/fuzz" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ >/dev/null || exit 1
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >"$BUILD/build.log" 2>&1 || {
  tail -30 "$BUILD/build.log" >&2
  exit 1
}
if [ ${#targets[@]} -eq 0 ]; then
  read -r -a targets <<<"$(sed -n 's/^set(NETQOS_FUZZ_TARGETS \(.*\))$/\1/p' "$ROOT/fuzz/CMakeLists.txt")"
fi
mkdir -p "$BUILD/artifacts" "$BUILD/logs"

# One target: runs it, then prints its line from libFuzzer's log.
fuzz_one() {
  local t=$1 work="$BUILD/work/$1" log="$BUILD/logs/$1.log" limit status
  mkdir -p "$work" "$ROOT/fuzz/corpus/$t"
  if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi
  # fuzz/<target>.options: libFuzzer flags of that target, one a line (# comments).
  [ -f "$ROOT/fuzz/$t.options" ] && limit+=($(grep -v '^#' "$ROOT/fuzz/$t.options"))
  # A small quarantine: freed memory is reused sooner (use-after-free of recent frees is still
  # caught); the default 256 MiB made every run fault in fresh pages, a third of the time.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:quarantine_size_mb=16 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$BUILD/fuzz_$t" "${limit[@]}" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$BUILD/artifacts/$t-" "$work" "$ROOT/fuzz/corpus/$t" >"$log" 2>&1
  status=$?
  if [ "$merge" = 1 ] && [ $status -eq 0 ]; then
    "$BUILD/fuzz_$t" -merge=1 "$ROOT/fuzz/corpus/$t" "$work" >>"$log" 2>&1
  fi
  local execs cov ft corp rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  local verdict=ok
  if [ $status -ne 0 ]; then
    verdict="CRASH (status $status; $(grep -m1 -E 'ERROR|runtime error' "$log" | cut -c1-160); see $log)"
  fi
  printf '%-8s %12s execs %8s/s  cov %5s  ft %6s  corpus %5s  %s\n' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict"
  [ $status -eq 0 ]
}

passed=0
failed=0
pids=()
for t in "${targets[@]}"; do
  if [ ! -x "$BUILD/fuzz_$t" ]; then
    echo "fuzz: no target $t (see fuzz/CMakeLists.txt)" >&2
    failed=$((failed + 1))
    continue
  fi
  fuzz_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    if wait "${pids[0]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do
  if wait "$pid"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
