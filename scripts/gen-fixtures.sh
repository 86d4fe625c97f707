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
# exit code and error text. Only a command that sends no request at all is left out. (tc sends
# a request for a kind the kernel lacks as for any other: it never asks the kernel first.)
#
# Commands are split as the shell splits words (quotes group). @BPFFS@ stands for a private
# bpffs mount holding two pinned programs, cls and act (test/helpers/bpf-pin.c), mounted under
# the work directory and unmounted at the end.
#
# Usage: sudo bash scripts/gen-fixtures.sh [--only REGEX] [OUT.json]
#   --only REGEX  capture only the cases whose name matches, and merge them into OUT (the other
#                 cases stay as they are)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ONLY=""
if [ "${1:-}" = "--only" ]; then ONLY="$2"; shift 2; fi
OUT="${1:-$ROOT/test/fixtures/tc-requests.json}"
PARSER="$ROOT/scripts/parse-strace.js"

die() { echo "gen-fixtures: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
for t in ip tc strace node cc; do command -v "$t" >/dev/null || die "missing tool: $t"; done

WORK="$(mktemp -d /tmp/nqf-fixtures.XXXXXX)"
CUR_NS=""
ALL_NS=()
BPFFS="$WORK/bpffs"

cleanup() {
  local rc=$?
  local ns
  for ns in "${ALL_NS[@]}"; do
    if [ -e "/run/netns/$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
  done
  if mountpoint -q "$BPFFS" 2>/dev/null; then umount "$BPFFS" || true; fi
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
# Classful qdiscs and their classes (RTM_NEWTCLASS / RTM_DELTCLASS).
HTB='tc qdisc add dev v0 root handle 1: htb default 10'
HTB1="$HTB; tc class add dev v0 parent 1: classid 1:1 htb rate 20mbit"
add_case htb_qdisc                          ''        'tc qdisc add dev v0 root handle 1: htb default 10 r2q 5 direct_qlen 100'
add_case htb_qdisc_plain                    ''        'tc qdisc add dev v0 root handle 1: htb'
add_case htb_class                          "$HTB"    'tc class add dev v0 parent 1: classid 1:1 htb rate 20mbit'
add_case htb_class_full                     "$HTB1"   'tc class add dev v0 parent 1:1 classid 1:10 htb rate 10mbit ceil 20mbit burst 15k cburst 20k prio 1 quantum 3000 mpu 64 overhead 4'
add_case htb_class_rate64                   "$HTB"    'tc class add dev v0 parent 1: classid 1:2 htb rate 50gbit ceil 60gbit'
add_case htb_class_change                   "$HTB1"   'tc class change dev v0 parent 1: classid 1:1 htb rate 30mbit ceil 40mbit'
add_case htb_class_replace                  "$HTB1"   'tc class replace dev v0 parent 1: classid 1:1 htb rate 30mbit'
add_case class_delete                       "$HTB1"   'tc class del dev v0 classid 1:1'
add_case hfsc_qdisc                         ''        'tc qdisc add dev v0 root handle 1: hfsc default 10'
add_case hfsc_class                         ''        'tc class add dev v0 parent 1: classid 1:10 hfsc rt m1 20mbit d 10ms m2 10mbit ls m2 15mbit ul m2 30mbit'
add_case hfsc_class_ls                      ''        'tc class add dev v0 parent 1: classid 1:20 hfsc ls m2 5mbit'

# Classless qdiscs.
add_case prio                               ''        'tc qdisc add dev v0 root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 3 3'
add_case prio_default                       ''        'tc qdisc add dev v0 root handle 1: prio'
add_case pfifo                              ''        'tc qdisc add dev v0 root handle 1: pfifo limit 100'
add_case bfifo                              ''        'tc qdisc add dev v0 root handle 1: bfifo limit 64kb'
add_case pfifo_fast                         ''        'tc qdisc add dev v0 root handle 1: pfifo_fast'
add_case sfq                                ''        'tc qdisc add dev v0 root handle 1: sfq perturb 10 quantum 1514 limit 100 divisor 1024 flows 64 depth 64 headdrop'
add_case sfq_default                        ''        'tc qdisc add dev v0 root handle 1: sfq'
add_case fq_codel                           ''        'tc qdisc add dev v0 root fq_codel limit 2000 flows 512 quantum 1514 target 4ms interval 80ms ecn ce_threshold 2ms memory_limit 16mb drop_batch 32'
add_case fq_codel_child                     "$HTB1"   'tc qdisc add dev v0 parent 1:1 handle 10: fq_codel noecn'
add_case codel                              ''        'tc qdisc add dev v0 root codel limit 1000 target 5ms interval 100ms ecn ce_threshold 1ms'
add_case fq                                 ''        'tc qdisc add dev v0 root fq limit 5000 flow_limit 50 quantum 3028 initial_quantum 15140 maxrate 100mbit buckets 2048 orphan_mask 1023 pacing refill_delay 40ms low_rate_threshold 1mbit ce_threshold 5ms horizon 5s horizon_drop timer_slack 20us'
add_case fq_nopacing                        ''        'tc qdisc add dev v0 root fq nopacing horizon_cap'
add_case cake                               ''        'tc qdisc add dev v0 root cake bandwidth 100mbit rtt 50ms diffserv4 dual-dsthost nat wash no-split-gso ingress ack-filter ptm overhead 18 mpu 64 memlimit 32mb fwmark 0xff'
add_case cake_raw                           ''        'tc qdisc add dev v0 root cake unlimited besteffort flows nonat nowash split-gso egress no-ack-filter raw autorate-ingress'
add_case cake_rate64                        ''        'tc qdisc add dev v0 root cake bandwidth 40gbit diffserv3 triple-isolate atm overhead -4'
add_case netem_delay                        ''        'tc qdisc add dev v0 root handle 1: netem delay 50ms 5ms 25%'
add_case netem_distribution                 ''        'tc qdisc add dev v0 root handle 1: netem delay 50ms 10ms distribution normal'
add_case netem_pareto                       ''        'tc qdisc add dev v0 root handle 1: netem delay 20ms 4ms distribution paretonormal'
add_case netem_loss                         ''        'tc qdisc add dev v0 root handle 1: netem loss random 10% 25%'
add_case netem_loss_state                   ''        'tc qdisc add dev v0 root handle 1: netem loss state 1% 30% 2% 40% 5%'
add_case netem_loss_gemodel                 ''        'tc qdisc add dev v0 root handle 1: netem loss gemodel 1% 10% 70% 0.1%'
add_case netem_mix                          ''        'tc qdisc add dev v0 root handle 1: netem limit 5000 delay 10ms reorder 25% 50% gap 5 duplicate 1% 10% corrupt 0.1% 5% loss 0.5% ecn'
add_case netem_rate                         ''        'tc qdisc add dev v0 root handle 1: netem rate 1mbit 20 100 -4'
add_case netem_rate64                       ''        'tc qdisc add dev v0 root handle 1: netem delay 1ms rate 50gbit'
add_case netem_slot                         ''        'tc qdisc add dev v0 root handle 1: netem slot 1ms 5ms packets 10 bytes 15000'
add_case netem_slot_distribution            ''        'tc qdisc add dev v0 root handle 1: netem slot distribution pareto 1ms 2ms'
add_case netem_change                       'tc qdisc add dev v0 root handle 1: htb' \
                                                      'tc qdisc change dev v0 root handle 1: netem delay 100ms'

# Classifiers: flower (keys in tc's parse order: encoders emit them in that order), fw, bpf, basic.
add_case flower_tcp_classid                 "$HTB1"   'tc filter add dev v0 parent 1: protocol ip prio 1 flower classid 1:1 ip_proto tcp dst_port 5201'
add_case flower_ip_masks                    "$ING"    'tc filter add dev v0 parent ffff: protocol ip prio 2 flower skip_hw dst_mac 02:00:00:00:00:01 src_mac 02:00:00:00:00:00/ff:ff:ff:00:00:00 ip_proto udp ip_tos 0x10/0xfc ip_ttl 64 dst_ip 198.18.0.0/15 src_ip 198.18.0.1 dst_port 1000-2000 src_port 53 action drop'
add_case flower_ipv6_icmp                   "$ING"    'tc filter add dev v0 ingress protocol ipv6 prio 3 flower ip_proto icmpv6 dst_ip 2001:2::/48 src_ip 2001:2::1 type 128 code 0 action pass'
add_case flower_icmp                        "$ING"    'tc filter add dev v0 ingress protocol ip flower ip_proto icmp type 8/255 action drop'
add_case flower_tcp_flags                   "$ING"    'tc filter add dev v0 ingress protocol ip prio 4 flower ip_proto tcp src_port 1024/0xfc00 tcp_flags 0x2/0x12 action drop'
add_case flower_vlan                        "$ING"    'tc filter add dev v0 ingress protocol 802.1q prio 5 flower vlan_id 100 vlan_prio 3 vlan_ethtype ip dst_ip 198.18.0.2 action vlan pop'
add_case flower_cvlan                       "$ING"    'tc filter add dev v0 ingress protocol 802.1ad flower vlan_id 100 vlan_ethtype 802.1q cvlan_id 200 cvlan_prio 1 cvlan_ethtype ipv6 action drop'
add_case flower_ct                          "$ING"    'tc filter add dev v0 ingress protocol ip prio 6 flower ct_state +trk+est-new ct_zone 5 ct_mark 0x10/0xff ct_label 000102030405060708090a0b0c0d0e0f action pass'
add_case flower_enc                         "$ING"    'tc filter add dev v0 ingress protocol ip prio 7 flower enc_dst_ip 198.18.0.2 enc_src_ip 198.18.0.0/24 enc_key_id 42 enc_dst_port 4789 enc_tos 0x10/0xff enc_ttl 64 action tunnel_key unset'
add_case flower_enc_v6                      "$ING"    'tc filter add dev v0 ingress protocol all flower enc_dst_ip 2001:2::2 enc_src_ip 2001:2::1 enc_key_id 7 action drop'
add_case flower_ip_flags                    "$ING"    'tc filter add dev v0 ingress protocol ip flower ip_flags frag/nofirstfrag action drop'
add_case flower_indev                       "$ING"    'tc filter add dev v0 ingress protocol all prio 8 flower indev v0 action pass'
add_case flower_all                         "$ING"    'tc filter add dev v0 ingress flower action drop'
add_case flower_goto_chain                  "$ING"    'tc filter add dev v0 ingress protocol ip prio 9 flower ip_proto tcp action goto chain 5'
add_case flower_in_chain                    "$ING"    'tc filter add dev v0 ingress protocol ip prio 9 chain 5 flower ip_proto tcp dst_port 80 action drop'
add_case chain_add                          "$ING"    'tc chain add dev v0 ingress chain 3'
add_case chain_template                     "$ING"    'tc chain add dev v0 ingress protocol ip chain 5 flower ip_proto tcp dst_ip 0.0.0.0/16'
add_case chain_delete                       "$ING; tc chain add dev v0 ingress chain 3" \
                                                      'tc chain del dev v0 ingress chain 3'
add_case fw                                 "$HTB1"   'tc filter add dev v0 parent 1: protocol ip prio 2 handle 0x10/0xff fw classid 1:1 indev v0 action pass'
add_case fw_plain                           "$HTB1"   'tc filter add dev v0 parent 1: prio 3 handle 5 fw classid 1:1'
add_case bpf_cbpf_classid                   "$HTB1"   'tc filter add dev v0 parent 1: prio 4 bpf bytecode "1,6 0 0 4294967295," classid 1:1'
add_case bpf_pinned_da                      "$ING"    'tc filter add dev v0 ingress prio 5 bpf pinned @BPFFS@/cls da'
add_case bpf_pinned_classid                 "$HTB1"   'tc filter add dev v0 parent 1: prio 6 handle 7 bpf pinned @BPFFS@/cls classid 1:1 skip_hw action pass'
add_case basic_cmp                          "$HTB1"   'tc filter add dev v0 parent 1: protocol ip prio 7 basic match "cmp(u16 at 2 layer transport eq 5201)" classid 1:1'
add_case basic_cmp_and                      "$HTB1"   'tc filter add dev v0 parent 1: protocol ip prio 8 basic match "cmp(u8 at 9 layer network eq 6) and not cmp(u16 at 0 layer transport mask 0xff00 gt 1023)" action drop'

# Actions (through matchall, a classifier the request carries whatever this kernel has).
add_case vlan_pop                           "$ING"    'tc filter add dev v0 ingress matchall action vlan pop'
add_case vlan_push                          "$ING"    'tc filter add dev v0 ingress matchall action vlan push id 100 protocol 802.1ad priority 5 pipe index 3'
add_case vlan_modify                        "$ING"    'tc filter add dev v0 ingress matchall action vlan modify id 200 priority 2 continue'
add_case vlan_push_eth                      "$ING"    'tc filter add dev v0 ingress matchall action vlan push_eth dst_mac 02:00:00:00:00:02 src_mac 02:00:00:00:00:01'
add_case tunnel_key_set                     "$ING"    'tc filter add dev v0 ingress matchall action tunnel_key set src_ip 198.18.0.1 dst_ip 198.18.0.2 id 42 dst_port 4789 tos 0x10 ttl 64 nocsum'
add_case tunnel_key_set_v6                  "$ING"    'tc filter add dev v0 ingress matchall action tunnel_key set src_ip 2001:2::1 dst_ip 2001:2::2 id 7'
add_case tunnel_key_unset                   "$ING"    'tc filter add dev v0 ingress matchall action tunnel_key unset'
add_case connmark                           "$ING"    'tc filter add dev v0 ingress matchall action connmark'
add_case connmark_zone                      "$ING"    'tc filter add dev v0 ingress matchall action connmark zone 5 pipe index 4'
add_case ct_plain                           "$ING"    'tc filter add dev v0 ingress matchall action ct'
add_case ct_clear                           "$ING"    'tc filter add dev v0 ingress matchall action ct clear'
add_case ct_commit_nat                      "$ING"    'tc filter add dev v0 ingress matchall action ct commit zone 5 mark 0x10/0xff label 000102030405060708090a0b0c0d0e0f/ffffffffffffffffffffffffffffffff nat src addr 198.18.0.1-198.18.0.10 port 1000-2000 pipe'
add_case ct_nat_restore                     "$ING"    'tc filter add dev v0 ingress matchall action ct zone 2 nat pipe'
add_case ct_commit_force_v6                 "$ING"    'tc filter add dev v0 ingress matchall action ct commit force nat dst addr 2001:2::2 pipe'
add_case sample                             "$ING"    'tc filter add dev v0 ingress matchall action sample rate 100 group 5 trunc 128'
add_case act_bpf_cbpf                       "$ING"    'tc filter add dev v0 ingress matchall action bpf bytecode "1,6 0 0 0," pipe'
add_case act_bpf_pinned                     "$ING"    'tc filter add dev v0 ingress matchall action bpf pinned @BPFFS@/act index 9'
add_case nat_egress                         "$ING"    'tc filter add dev v0 ingress matchall action nat egress 198.18.0.1/32 198.18.1.1'
add_case nat_ingress                        "$ING"    'tc filter add dev v0 ingress matchall action nat ingress 198.18.0.0/16 198.19.0.0 pass'
add_case link_ifb                           ''        'ip link add nqifb0 mtu 1400 type ifb'
add_case link_ifb_up                        ''        'ip link add nqifb0 mtu 1400 up type ifb' \
                                                      'extra case: iproute2 6.1 does accept "up" on ip link add (IFF_UP in ifi_flags/ifi_change of the one RTM_NEWLINK)'
add_case link_set_up                        'ip link add nqifb0 mtu 1400 type ifb' \
                                                      'ip link set nqifb0 up'
add_case link_delete                        'ip link add nqifb0 mtu 1400 type ifb' \
                                                      'ip link del nqifb0'

# The pinned programs the bpf cases attach (loaded by the test helper, no libbpf needed).
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS"
cc -O2 -o "$WORK/bpf-pin" "$ROOT/test/helpers/bpf-pin.c"
"$WORK/bpf-pin" cls -1 "$BPFFS/cls"
"$WORK/bpf-pin" act 0 "$BPFFS/act"

ENTRIES=()
OMITTED=()
for i in "${!NAMES[@]}"; do
  name="${NAMES[$i]}"; setup="${SETUPS[$i]}"; cmd="${CMDS[$i]}"; note="${NOTES[$i]}"
  if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then continue; fi
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
  # Words as the shell splits them (the commands are this file's own literals).
  eval "argv=(${cmd//@BPFFS@/$BPFFS})"
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
if [ -n "$ONLY" ] && [ -e "$OUT" ]; then
  node "$PARSER" assemble --merge "$OUT" --psched-file "$WORK/psched" --iproute2 "$(tc -V 2>&1)" "$OUT" "${ENTRIES[@]}"
else
  node "$PARSER" assemble --psched-file "$WORK/psched" --iproute2 "$(tc -V 2>&1)" "$OUT" "${ENTRIES[@]}"
fi
echo "wrote $OUT: ${#ENTRIES[@]} cases"
if [ "${#OMITTED[@]}" -gt 0 ]; then
  echo "omitted: ${OMITTED[*]}" >&2
fi
