#!/bin/bash
# PID 1 of the User-Mode Linux guest booted by scripts/uml-run.sh. Not meant to be run by hand.
#
# The kernel starts it with NETQOS_UML_X=<exchange dir> in its environment (a KEY=VALUE word on
# the kernel command line). The exchange dir is a private host temp dir, seen through hostfs:
#   in:  env      `export NAME=VALUE` lines for the command (written by uml-run.sh)
#        cmd.sh   cd to the working dir + exec of the command (written by uml-run.sh)
#   out: booted   created as soon as this script runs (tells the host the kernel reached init)
#        stdout, stderr  the command's output (hostfs writes go straight to the host file, so the
#                 host can tail them live)
#        rc       the command's exit code, written last
# Diagnostics of this script go to the guest console, which uml-run.sh keeps in console.log.
#
# The root filesystem is the host's / (hostfs, read-write): only what is mounted here (/run,
# /dev, /dev/shm, /proc, /sys, the private TMPDIR under /run) is private to the guest. /tmp is the
# host's /tmp.
#
# PID 1 must never exit (the guest would panic): every path ends in power_off.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
X=${NETQOS_UML_X:-}
G=/run/netqos-uml          # guest-private state, on the /run tmpfs
GUEST_TMP=$G/tmp           # TMPDIR of the command (jest cache, mkdtemp, ...)
GUEST_SBIN=$G/sbin         # modprobe wrapper, first in the command's PATH

say() { echo "uml-guest-init: $*" >&2; }

power_off() {
  sync
  [ -e /proc/sysrq-trigger ] || mount -n -t proc proc /proc 2>/dev/null
  echo 1 >/proc/sys/kernel/sysrq 2>/dev/null
  echo o >/proc/sysrq-trigger
  # The power-off is asynchronous; wait for it rather than exiting (exiting would panic).
  while :; do sleep 1; done
}

if [ -z "$X" ] || [ ! -d "$X" ]; then
  say "NETQOS_UML_X is unset or not a directory ('$X'); was this started by uml-run.sh?"
  power_off
fi
: >"$X/booted"

# --- pseudo filesystems ---------------------------------------------------------------------
# /run first, with -n: `ip netns` keeps its files in /run/netns and libmount creates /run/mount,
# and neither may land in the host's /run. Without a private /run, stop (no rc: the host reports it).
if ! mount -n -t tmpfs -o mode=755,nosuid,nodev tmpfs /run; then
  say "mount /run failed: not running the command"
  power_off
fi
mountpoint -q /proc || mount -t proc -o nosuid,nodev,noexec proc /proc || say "mount /proc failed"
mountpoint -q /sys || mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || say "mount /sys failed"
# CONFIG_DEVTMPFS_MOUNT normally mounts /dev already; never populate the host's /dev.
mountpoint -q /dev || mount -t devtmpfs -o mode=755,nosuid devtmpfs /dev || say "mount /dev failed"
if mountpoint -q /dev; then
  [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
  [ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
  [ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
  [ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
  mkdir -p /dev/pts /dev/shm
fi
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts || say "mount /dev/pts failed"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || say "mount /dev/shm failed"
[ -d /sys/fs/bpf ] && mount -t bpf -o mode=700 bpf /sys/fs/bpf 2>/dev/null
mkdir -p /run/lock /run/netns "$GUEST_TMP" "$GUEST_SBIN" "$G/modroot/lib/modules"
chmod 1777 "$GUEST_TMP"

# --- kernel modules from /usr/lib/uml/modules/<release> ---------------------------------------
# The kernel runs /proc/sys/kernel/modprobe to auto-load tc actions, classifiers, qdiscs, ifb...
# Point it at a wrapper that looks in a private module root (/lib/modules may not even exist on
# the host, and must not be created there). If the host has /lib/modules, also hide it behind a
# tmpfs holding only the UML release, so a plain `modprobe` works too.
kver=$(uname -r)
moddir=/usr/lib/uml/modules/$kver
real_modprobe=$(command -v modprobe)
if [ -d "$moddir" ] && [ -n "$real_modprobe" ]; then
  ln -s "$moddir" "$G/modroot/lib/modules/$kver"
  printf '#!/bin/sh\nexec %s -d %s "$@"\n' "$real_modprobe" "$G/modroot" >"$GUEST_SBIN/modprobe"
  chmod 755 "$GUEST_SBIN/modprobe"
  echo "$GUEST_SBIN/modprobe" >/proc/sys/kernel/modprobe
  if [ -d /lib/modules ] && mount -t tmpfs -o mode=755 tmpfs /lib/modules; then
    ln -s "$moddir" "/lib/modules/$kver"
  fi
  # IPv6 is a module in this kernel and nothing auto-loads it for `ip -6 addr add`.
  "$GUEST_SBIN/modprobe" -q ipv6 || say "modprobe ipv6 failed"
else
  say "no modules for $kver in $moddir (or no modprobe): module auto-loading is off"
fi

# --- network and identity -------------------------------------------------------------------
echo netqos-uml >/proc/sys/kernel/hostname
ip link set lo up || say "ip link set lo up failed"

# --- the command ----------------------------------------------------------------------------
# A clean environment: only what uml-run.sh wrote into $X/env, plus the guest's TMPDIR and the
# modprobe wrapper in front of PATH. cmd.sh does the cd and the exec.
env -i /bin/bash --noprofile --norc -c '
  set -a; . "$1/env" || exit 127; set +a
  export TMPDIR="$2" PATH="$3${PATH:+:$PATH}"
  exec /bin/bash --noprofile --norc "$1/cmd.sh"
' uml-cmd "$X" "$GUEST_TMP" "$GUEST_SBIN" </dev/null >"$X/stdout" 2>"$X/stderr"
rc=$?

printf '%s\n' "$rc" >"$X/rc" || say "cannot write $X/rc"
power_off
