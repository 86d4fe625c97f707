#!/usr/bin/env bash
# Capture the rtnetlink requests iproute2's `tc` / `ip` send to the kernel, as golden fixtures
# for our own encoder: test/fixtures/tc-requests.json.
#
# Must run as root. Every case runs in its own throwaway network namespace (name prefix nqf-,
# always deleted again through a trap, even on failure) holding a veth pair v0/v1 and an ifb
# ifbx. The root namespace's interfaces are never touched.
#
# Each command runs under
#   strace -f -e trace=sendmsg,sendto -e write=all -xx -s 65536 -o FILE
# (`-e write=all` adds a full hex dump of every byte sent, which scripts/parse-strace.js turns
# back into the exact request). The RTM_NEW*/RTM_DEL* message is kept; tc's RTM_GETLINK lookups
# and ip's empty RTM_NEWLINK probe are not. A command the kernel rejects (this kernel lacks
# police, pedit, skbedit, csum, gact and matchall) still sent its request: it is kept, with its
# exit code and error text. Only a command that sends no request at all is left out.
#
# Usage: sudo bash scripts/gen-fixtures.sh [OUT.json]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/test/fixtures/tc-requests.json}"
PARSER="$ROOT/scripts/parse-strace.js"

die() { echo "gen-fixtures: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
for t in ip tc strace node; do command -v "$t" >/dev/null || die "missing tool: $t"; done

WORK="$(mktemp -d /tmp/nqf-fixtures.XXXXXX)"
CUR_NS=""
ALL_NS=()

cleanup() {
  local rc=$?
  local ns
  for ns in "${ALL_NS[@]}"; do
    if [ -e "/run/netns/$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

new_ns() {
  local ns
  while :; do
    ns="nqf-$$-${RANDOM}"
    [ -e "/run/netns/$ns" ] || break
  done
  ALL_NS+=("$ns")
  ip netns add "$ns"
  CUR_NS="$ns"
  ip -n "$ns" link add v0 type veth peer name v1
  ip -n "$ns" link add ifbx type ifb
  ip -n "$ns" link set v0 up
  ip -n "$ns" link set v1 up
  ip -n "$ns" link set ifbx up
}

del_ns() {
  ip netns del "$CUR_NS" 2>/dev/null || true
  CUR_NS=""
}

# {"v0":3,"v1":2,"ifbx":4,...} for every interface of the namespace except lo.
ifindex_json() {
  ip -n "$1" -o link show | node -e '
    const m = {};
    for (const l of require("fs").readFileSync(0, "utf8").split("\n")) {
      const r = /^(\d+): ([^:@ ]+)/.exec(l);
      if (r && r[2] !== "lo") m[r[2]] = Number(r[1]);
    }
    process.stdout.write(JSON.stringify(m));'
}

# merge two ifindex maps, first one wins (interfaces present before the command)
merge_json() {
  node -e 'const a = JSON.parse(process.argv[1]), b = JSON.parse(process.argv[2]);
    process.stdout.write(JSON.stringify({ ...b, ...a }));' "$1" "$2"
}

NAMES=(); SETUPS=(); CMDS=(); NOTES=()
add_case() { NAMES+=("$1"); SETUPS+=("$2"); CMDS+=("$3"); NOTES+=("${4:-}"); }

ING='tc qdisc add dev v0 ingress'
CLSACT1='tc qdisc add dev v1 clsact'
TBF='tc qdisc add dev v0 root handle 1: tbf rate 10mbit burst 32kb latency 25ms'

#        name                               setup (runs in the namespace, not captured)   command
add_case tbf_basic                          ''        "$TBF"
add_case tbf_replace_limit                  ''        'tc qdisc replace dev v0 root handle 1: tbf rate 100mbit burst 64kb limit 200000'
add_case tbf_rate64                         ''        'tc qdisc add dev v0 root handle 1: tbf rate 40gbit burst 1mb latency 10ms'
add_case tbf_peakrate                       ''        'tc qdisc add dev v0 root handle 1: tbf rate 10mbit burst 32kb latency 25ms peakrate 20mbit mtu 1514'
add_case tbf_peakrate64                     ''        'tc qdisc add dev v0 root handle 1: tbf rate 40gbit burst 1mb latency 10ms peakrate 50gbit mtu 1514'
add_case tbf_change                         "$TBF"    'tc qdisc change dev v0 root handle 1: tbf rate 20mbit burst 32kb latency 25ms'
add_case qdisc_delete_root                  "$TBF"    'tc qdisc del dev v0 root'
add_case ingress                            ''        'tc qdisc add dev v0 ingress'
add_case clsact                             ''        'tc qdisc add dev v1 clsact'
add_case u32_mirred_ifb                     "$ING"    'tc filter add dev v0 parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ifbx'
add_case u32_mirred_clsact_egress_mirror    "$CLSACT1" 'tc filter add dev v1 egress protocol ip prio 5 u32 match u32 0 0 action mirred egress mirror dev ifbx'
add_case u32_classid                        "$ING"    'tc filter add dev v0 parent ffff: protocol ip prio 2 handle 800::10 u32 match u32 0 0 flowid 1:1'
add_case filter_delete                      "$ING; tc filter add dev v0 parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ifbx" \
                                                      'tc filter del dev v0 parent ffff: protocol all prio 1'
add_case matchall_police_bytes              "$ING"    'tc filter add dev v0 parent ffff: protocol all prio 1 matchall action police rate 10mbit burst 64kb mtu 64kb conform-exceed drop/pipe'
add_case matchall_police_rate64             "$ING"    'tc filter add dev v0 ingress matchall action police rate 50gbit burst 1mb drop'
add_case matchall_police_pps                "$ING"    'tc filter add dev v0 ingress matchall action police pkts_rate 1000 pkts_burst 5 drop'
add_case matchall_police_peakrate           "$ING"    'tc filter add dev v0 ingress matchall action police rate 10mbit burst 32kb peakrate 20mbit mtu 2kb drop'
add_case pedit_dscp_v4                      "$CLSACT1" 'tc filter add dev v1 egress protocol ip prio 10 u32 match u32 0 0 action pedit ex munge ip dsfield set 0xb8 retain 0xfc pipe action csum ip4h'
add_case pedit_dscp_v6                      "$CLSACT1" 'tc filter add dev v1 egress protocol ipv6 prio 11 u32 match u32 0 0 action pedit ex munge ip6 traffic_class set 0xb8 retain 0xfc'
add_case skbedit                            "$CLSACT1" 'tc filter add dev v1 egress matchall action skbedit priority 5'
add_case skbedit_mark_inherit               "$CLSACT1" 'tc filter add dev v1 egress matchall action skbedit mark 0x10/0xff inheritdsfield'
add_case gact_drop                          "$ING"    'tc filter add dev v0 ingress matchall action drop'
add_case gact_pass                          "$ING"    'tc filter add dev v0 ingress matchall action pass'
add_case action_cookie                      "$ING"    'tc filter add dev v0 ingress matchall action mirred egress redirect dev ifbx cookie 6e71deadbeef'
add_case u32_mirred_cookie                  "$CLSACT1" 'tc filter add dev v1 egress protocol ip prio 12 u32 match u32 0 0 action mirred egress redirect dev ifbx cookie 6e71deadbeef' \
                                                      'extra case: the action_cookie request through u32 (a classifier this kernel has), so the kernel accepts it'
add_case matchall_chain_skip_hw             "$ING"    'tc filter add dev v0 ingress chain 3 prio 7 protocol ip matchall skip_hw action gact pass'
add_case link_ifb                           ''        'ip link add nqifb0 mtu 1400 type ifb'
add_case link_ifb_up                        ''        'ip link add nqifb0 mtu 1400 up type ifb' \
                                                      'extra case: iproute2 6.1 does accept "up" on ip link add (IFF_UP in ifi_flags/ifi_change of the one RTM_NEWLINK)'
add_case link_set_up                        'ip link add nqifb0 mtu 1400 type ifb' \
                                                      'ip link set nqifb0 up'
add_case link_delete                        'ip link add nqifb0 mtu 1400 type ifb' \
                                                      'ip link del nqifb0'

ENTRIES=()
OMITTED=()
for i in "${!NAMES[@]}"; do
  name="${NAMES[$i]}"; setup="${SETUPS[$i]}"; cmd="${CMDS[$i]}"; note="${NOTES[$i]}"
  dir="$WORK/$(printf '%02d' "$i")-$name"
  mkdir -p "$dir"
  new_ns
  ns="$CUR_NS"
  if [ -n "$setup" ] && ! ip netns exec "$ns" sh -c "$setup" >"$dir/setup.log" 2>&1; then
    echo "gen-fixtures: $name: setup failed: $(cat "$dir/setup.log")" >&2
    OMITTED+=("$name (setup failed)")
    del_ns
    continue
  fi
  before="$(ifindex_json "$ns")"
  read -r -a argv <<<"$cmd"
  set +e
  ip netns exec "$ns" strace -f -e trace=sendmsg,sendto -e write=all -xx -s 65536 \
    -o "$dir/strace.txt" "${argv[@]}" >"$dir/stdout" 2>"$dir/stderr"
  rc=$?
  set -e
  after="$(ifindex_json "$ns")"
  ifx="$(merge_json "$before" "$after")"
  del_ns
  if node "$PARSER" case --strace "$dir/strace.txt" --name "$name" --command "$cmd" \
      --note "$note" --ifindex-json "$ifx" --exit "$rc" --stderr-file "$dir/stderr" \
      >"$dir/entry.json"; then
    ENTRIES+=("$dir/entry.json")
    if [ "$rc" -eq 0 ]; then status="ok"; else status="rc=$rc: $(tr '\n' ' ' <"$dir/stderr")"; fi
    printf 'captured %-34s %s\n' "$name" "$status"
  else
    echo "gen-fixtures: $name: no request captured (rc=$rc): $(cat "$dir/stderr")" >&2
    OMITTED+=("$name (no request sent)")
  fi
done

[ "${#ENTRIES[@]}" -gt 0 ] || die "no case captured"
cat /proc/net/psched >"$WORK/psched"
mkdir -p "$(dirname "$OUT")"
node "$PARSER" assemble --psched-file "$WORK/psched" --iproute2 "$(tc -V 2>&1)" "$OUT" "${ENTRIES[@]}"
echo "wrote $OUT: ${#ENTRIES[@]} cases"
if [ "${#OMITTED[@]}" -gt 0 ]; then
  echo "omitted: ${OMITTED[*]}" >&2
fi
