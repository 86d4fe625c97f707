#!/usr/bin/env bash
# Run one command inside User-Mode Linux (Debian's kernel 6.1, every tc piece as a module), for the
# tests that need tc actions/classifiers the host kernel lacks (see test/uml and kernel-lab notes).
#
#   bash scripts/uml-run.sh [--mem 2G] [--timeout SECONDS] [--env NAME[=VALUE]]... -- COMMAND ARGS...
#
# Boots UML once with the host's / as its root (hostfs), runs COMMAND as root inside the guest in
# the current working directory, streams its stdout/stderr live to ours, and exits with its exit
# code. Exits 124 if the guest runs out of time, 125 if it fails to boot or to report an exit code,
# 2 on a usage error, 128+N when interrupted by signal N.
#
# The guest sees the host filesystem read-write (including /tmp); /run, /dev, /dev/shm and TMPDIR
# are private to it. Environment passed in: PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE,
# LC_ALL, TZ, TERM, CI, GITHUB_ACTIONS, NO_COLOR, FORCE_COLOR, NODE_OPTIONS, NODE_ENV, DEBUG, every
# NETQOS_* variable, each --env, and NETQOS_IN_UML=1. Needs root; stdin is not used.
#
# How: the command and its environment go into a private temp dir under /tmp; the guest init
# (scripts/uml-guest-init.sh, copied there) runs it with stdout/stderr redirected to files in that
# dir, which we tail, then writes the exit code there and powers the guest off.
set -uo pipefail

PROG=uml-run
UML_KERNEL=${NETQOS_UML_KERNEL:-/usr/bin/linux.uml}
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
GUEST_INIT_SRC=$SCRIPT_DIR/uml-guest-init.sh

mem=2G
timeout_s=1500
extra_env=()

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
usage() {
  sed -n 's/^#   \(bash scripts\/uml-run.sh .*\)$/usage: \1/p' "${BASH_SOURCE[0]}" >&2
}

while (($#)); do
  case $1 in
    --mem) (($# >= 2)) || { usage; exit 2; }; mem=$2; shift 2 ;;
    --mem=*) mem=${1#*=}; shift ;;
    --timeout) (($# >= 2)) || { usage; exit 2; }; timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --env) (($# >= 2)) || { usage; exit 2; }; extra_env+=("$2"); shift 2 ;;
    --env=*) extra_env+=("${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) say "unknown option '$1' (put the command after --)"; usage; exit 2 ;;
  esac
done
(($#)) || { say "no command given"; usage; exit 2; }
[[ $mem =~ ^[1-9][0-9]*[KMG]?$ ]] || { say "bad --mem '$mem' (e.g. 2G, 1536M)"; exit 2; }
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || { say "bad --timeout '$timeout_s' (whole seconds)"; exit 2; }

[ "$(id -u)" = 0 ] || { say "must run as root (the guest works on the host filesystem as root)"; exit 2; }
[ -x "$UML_KERNEL" ] || { say "no UML kernel at $UML_KERNEL (apt-get install user-mode-linux)"; exit 2; }
[ -r "$GUEST_INIT_SRC" ] || { say "missing $GUEST_INIT_SRC"; exit 2; }
kver=$("$UML_KERNEL" --version 2>/dev/null </dev/null | head -n1)
[ -n "$kver" ] || { say "cannot get the version of $UML_KERNEL"; exit 2; }
[ -d "/usr/lib/uml/modules/$kver" ] || say "warning: no /usr/lib/uml/modules/$kver: modules will not load"

# ---- private exchange dir ------------------------------------------------------------------
X=$(mktemp -d /tmp/uml-run.XXXXXXXX) || { say "mktemp failed"; exit 2; }
umid="netqos-$$-$RANDOM"
uml_pid=''
tail_pids=()

# Processes we started that may still run: our `timeout` ($uml_pid, until it is reaped) and the
# linux.uml processes of our guest. UML calls setsid(), so those are recognised by name plus our
# unique uml_dir on their command line (or, failing that, membership of the session of one that
# has it). Nothing of anyone else's is matched.
own_uml_pids() {
  local f stat pid comm rest ppid pgrp sid cmdline sids=' ' others=()
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    pid=${stat%% *}
    comm=${stat#* (}; comm=${comm%)*}
    if [ -n "$uml_pid" ] && [ "$pid" = "$uml_pid" ] && [ "$comm" = timeout ]; then
      echo "$pid"
    elif [ "$comm" = linux.uml ]; then
      rest=${stat##*) }            # state ppid pgrp session ...
      read -r _ ppid pgrp sid _ <<<"$rest"
      cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")
      if [[ $cmdline == *" uml_dir=$X/uml "* ]]; then
        echo "$pid"; sids+="$sid "
      else
        others+=("$pid $sid")
      fi
    fi
  done
  for f in "${others[@]}"; do
    [[ $sids == *" ${f#* } "* ]] && echo "${f%% *}"
  done
}

stop_uml() {
  local pids i
  pids=$(own_uml_pids)
  [ -n "$pids" ] || return 0
  if [ -n "$uml_pid" ] && kill -0 "$uml_pid" 2>/dev/null; then
    # SIGTERM to our timeout is forwarded to UML, whose handler tears the guest down.
    kill -TERM "$uml_pid" 2>/dev/null
  else
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
  fi
  for i in $(seq 50); do
    pids=$(own_uml_pids); [ -n "$pids" ] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  sleep 0.2
  pids=$(own_uml_pids)
  # shellcheck disable=SC2086
  [ -z "$pids" ] || say "warning: could not stop UML processes: $(echo $pids)"
}

cleanup() {
  local p
  stop_uml
  for p in "${tail_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${tail_pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${X:-}" ] && [ -d "$X" ] && rm -rf -- "$X"
}
on_signal() {
  trap - INT TERM HUP
  say "interrupted by SIG$1: stopping the guest"
  cleanup
  trap - EXIT
  exit $((128 + $2))
}
trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

# ---- what the guest runs -------------------------------------------------------------------
cp -- "$GUEST_INIT_SRC" "$X/init" && chmod 755 "$X/init" || { say "cannot prepare $X"; exit 2; }

{
  for name in PATH HOME USER LOGNAME SHELL LANG LANGUAGE LC_ALL TZ TERM CI GITHUB_ACTIONS \
              NO_COLOR FORCE_COLOR NODE_OPTIONS NODE_ENV DEBUG $(compgen -e NETQOS_); do
    [ -n "${!name+x}" ] && printf 'export %s=%q\n' "$name" "${!name}"
  done
  # Output goes to files, not a terminal: keep colours if our stderr is one.
  if [ -t 2 ] && [ -z "${FORCE_COLOR+x}" ] && [ -z "${NO_COLOR+x}" ]; then
    echo 'export FORCE_COLOR=1'
  fi
  for kv in "${extra_env[@]}"; do
    name=${kv%%=*}
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { say "bad --env '$kv'"; exit 2; }
    if [[ $kv == *=* ]]; then printf 'export %s=%q\n' "$name" "${kv#*=}"
    elif [ -n "${!name+x}" ]; then printf 'export %s=%q\n' "$name" "${!name}"
    fi
  done
  echo 'export NETQOS_IN_UML=1'
} >"$X/env" || exit 2

cwd=$(pwd -P)
{
  echo '# generated by scripts/uml-run.sh'
  printf 'cd -- %q || { echo "uml-run: cannot cd to %q in the guest" >&2; exit 127; }\n' "$cwd" "$cwd"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$X/cmd.sh" || exit 2

: >"$X/stdout"; : >"$X/stderr"
mkdir "$X/uml"

# ---- boot ----------------------------------------------------------------------------------
# Readable, copy-pasteable rendering of the command: plain words as they are, others in '...'.
cmd_text=''
for a in "$@"; do
  if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then q=$a; else q="'${a//\'/\'\\\'\'}'"; fi
  cmd_text+="${cmd_text:+ }$q"
done
say "booting UML (kernel $kver, mem=$mem, timeout ${timeout_s}s) for: $cmd_text"
t0=$EPOCHREALTIME

# `timeout` runs in a new process group and UML in its own session, so a terminal Ctrl-C reaches
# only us and we stop the guest ourselves (see stop_uml). Core dumps off and cwd in
# the temp dir: a guest panic makes UML abort().
(
  cd -- "$X" || exit 125
  ulimit -c 0
  exec timeout --kill-after=10 "$timeout_s" "$UML_KERNEL" \
    "mem=$mem" "umid=$umid" "uml_dir=$X/uml" \
    rootfstype=hostfs rootflags=/ rw "init=$X/init" \
    con=null con0=null,fd:3 ssl=null pty.legacy_count=0 loglevel=2 \
    "NETQOS_UML_X=$X" \
    3>"$X/console.log"
) </dev/null >"$X/uml.log" 2>&1 &
uml_pid=$!

# Live output. tail --pid stops after `timeout` (and so UML) is gone, once it has read everything.
tail -q -n +1 -s 0.2 -f --pid="$uml_pid" "$X/stdout" </dev/null &
tail_pids+=($!)
tail -q -n +1 -s 0.2 -f --pid="$uml_pid" "$X/stderr" </dev/null >&2 &
tail_pids+=($!)

wait "$uml_pid" 2>/dev/null   # (no "Aborted" job notice from bash: UML's status is handled below)
uml_rc=$?
uml_pid=''   # reaped: its pid is no longer ours
for p in "${tail_pids[@]}"; do wait "$p" 2>/dev/null; done
tail_pids=()
elapsed=$(LC_ALL=C awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

show_logs() {
  local f
  for f in uml.log console.log; do
    if [ -s "$X/$f" ]; then
      say "--- last lines of $f ---"
      tail -n 40 "$X/$f" >&2
    fi
  done
}

rc=''
[ -e "$X/rc" ] && rc=$(<"$X/rc")
if [[ $rc =~ ^[0-9]+$ ]]; then
  if [ "$uml_rc" = 134 ] && grep -aq '^reboot: Power down' "$X/console.log" 2>/dev/null; then
    # Seen now and then: linux.uml abort()s in its own teardown after the guest has powered off.
    # The command had finished and reported its code, so this is only noted.
    say "note: linux.uml aborted after the guest powered off (harmless, result kept)"
  elif [ "$uml_rc" != 0 ]; then
    say "warning: the command finished but the guest did not power off cleanly (linux.uml: $uml_rc)"
    show_logs
  elif [ -s "$X/console.log" ]; then
    # Guest kernel messages (loglevel 2: critical and worse) and guest init warnings, if any.
    grep -avE '^(sysrq: Power Off|reboot: Power down)[[:space:]]*$|^[[:space:]]*$' "$X/console.log" |
      sed 's/^/uml-run: guest console: /' >&2
  fi
  say "guest exited with code $rc in ${elapsed}s"
  exit "$rc"
fi
if [ "$uml_rc" = 124 ] || { [ "$uml_rc" = 137 ] && [ "${elapsed%.*}" -ge "$timeout_s" ]; }; then
  say "guest timed out after ${timeout_s}s (elapsed ${elapsed}s); stopped it"
  show_logs
  exit 124
fi
if [ ! -e "$X/booted" ]; then
  say "guest failed to boot (linux.uml exited with $uml_rc after ${elapsed}s)"
else
  say "guest gave no exit code (linux.uml exited with $uml_rc after ${elapsed}s)"
fi
show_logs
exit 125
