#!/usr/bin/env bash
# Regenerates the fuzzers' seed corpus from real kernel replies: builds fuzz/capture.c, makes a
# throwaway namespace with veths, IFBs, TBFs (plain, with peakrate, above 4 GiB/s), ingress and
# clsact hooks, u32 filters with mirred redirects and mirrors, an htb with classes, a chain and a
# bpf classifier (in UML also every other qdisc, class, classifier, action and a chain template),
# and on the host an nf_tables ruleset (sets, maps, verdict maps, base chains, rules
# with limits, conntrack counts, DSCP and priority writes); records the notifications all that
# causes, then the dumps and gets the engine makes and the errors and acknowledgements it meets,
# and the deletions (filters, classes, chains, actions, qdiscs, links). The namespace is removed
# on every exit. Needs root.
#
#   bash fuzz/gen-corpus.sh          the host kernel: links, tbf, htb, u32, bpf, mirred, chains
#   bash fuzz/gen-corpus.sh --uml    inside User-Mode Linux as well, whose kernel has every other
#                                    qdisc, classifier and action netqos knows
#
# Files go to fuzz/corpus/<target>/kernel-<what>-<n>[-uml] (each a buffer as received), beside
# the regression inputs (regression-*), which are kept.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Inside: runs the scenario in a new namespace and leaves the captures in $2.
if [ "${1:-}" = --inside ]; then
  extended=$2 out=$3
  work=$(mktemp -d)
  NS="nqf-$$-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  cleanup() {
    [ -n "${monitor:-}" ] && kill "$monitor" 2>/dev/null
    [ -n "${nft_monitor:-}" ] && kill "$nft_monitor" 2>/dev/null
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  cc -O2 "$ROOT/fuzz/capture.c" $(pkg-config --cflags --libs libmnl) -o "$work/capture"
  ip netns add "$NS"
  nsx() { ip netns exec "$NS" "$@"; }
  mkdir -p "$out/monitor"
  (cd "$work" && exec ip netns exec "$NS" "$work/capture" "$out/monitor" monitor) &
  monitor=$!
  until [ -e "$work/.capture-ready" ]; do sleep 0.05; done
  # nf_tables on the host only (User-Mode Linux's kernel has none).
  nft=0
  [ "$extended" = 0 ] && command -v nft >/dev/null && nft=1
  if [ "$nft" = 1 ]; then
    mkdir -p "$work/nft" "$out/nft-monitor"
    (cd "$work/nft" && exec ip netns exec "$NS" "$work/capture" "$out/nft-monitor" nft-monitor) &
    nft_monitor=$!
    until [ -e "$work/nft/.capture-ready" ]; do sleep 0.05; done
  fi

  nsx ip link set lo up
  nsx ip link add v0 type veth peer name v1
  nsx ip link add ifb0 type ifb
  nsx ip link add ifb1 type ifb
  for l in v0 v1 ifb0 ifb1; do nsx ip link set "$l" up; done
  nsx ip link set ifb1 mtu 9000 group 7
  nsx tc qdisc add dev v0 root handle 1: tbf rate 10mbit burst 32kb latency 25ms
  nsx tc qdisc add dev v1 root tbf rate 1mbit burst 10kb peakrate 2mbit minburst 1540 limit 20000
  nsx tc qdisc add dev ifb0 root tbf rate 40gbit burst 64mb limit 100mb
  nsx tc qdisc add dev ifb1 root handle 1: htb default 10
  nsx tc class add dev ifb1 parent 1: classid 1:10 htb rate 5mbit
  nsx tc qdisc add dev v0 ingress
  nsx tc qdisc add dev v1 clsact
  nsx tc filter add dev v0 parent ffff: protocol all prio 1 u32 match u32 0 0 \
    action mirred egress redirect dev ifb0 cookie 0123456789abcdef
  nsx tc filter add dev v1 ingress protocol ip prio 2 u32 match ip dst 198.18.0.1/32 \
    action mirred egress mirror dev ifb1
  nsx tc filter add dev v1 egress protocol all prio 3 u32 match u32 0 0 classid 1:10
  # Classes, chains and a classic BPF classifier (the host kernel has htb, chains and cls_bpf).
  nsx tc class add dev ifb1 parent 1:10 classid 1:20 htb rate 1mbit ceil 5mbit prio 2
  nsx tc chain add dev v1 ingress chain 3
  nsx tc filter add dev ifb1 parent 1: protocol ip prio 1 bpf bytecode '1,6 0 0 4294967295,' classid 1:20
  if [ "$extended" = 1 ]; then
    nsx tc filter add dev v1 egress protocol all prio 4 matchall \
      action police rate 1mbit burst 20k conform-exceed drop/pipe \
      action police pkts_rate 1000 pkts_burst 10 conform-exceed drop
    nsx tc filter add dev v1 ingress protocol ip prio 5 u32 match u32 0 0 \
      action pedit ex munge ip dsfield set 0xb8 retain 0xfc pipe action csum ip4h tcp pipe \
      action skbedit priority 1:5 mark 7 action gact drop
    nsx tc actions add action police rate 2mbit burst 30k index 9
    # The other qdiscs, classes, classifiers, actions and chain templates (User-Mode Linux has
    # them all as modules).
    nsx ip link add v2 type veth peer name v3
    nsx ip link add v4 type veth peer name v5
    for l in v2 v3 v4 v5; do nsx ip link set "$l" up; done
    nsx tc qdisc add dev v2 root handle 1: netem delay 50ms 5ms 25% distribution normal \
      loss gemodel 1% 10% 70% 0.1% duplicate 1% reorder 25% 50% gap 5 corrupt 0.1% rate 50mbit 20 100 -4 \
      slot 1ms 5ms packets 10 bytes 15000
    nsx tc qdisc add dev v3 root handle 1: cake bandwidth 20mbit diffserv4 dual-dsthost nat wash \
      ack-filter ptm overhead 18 mpu 64 memlimit 32mb fwmark 0xff
    nsx tc qdisc add dev v4 root handle 1: hfsc default 10
    nsx tc class add dev v4 parent 1: classid 1:1 hfsc ls m2 20mbit ul m2 30mbit
    nsx tc class add dev v4 parent 1:1 classid 1:10 hfsc rt m1 20mbit d 10ms m2 10mbit ls m2 15mbit
    nsx tc class add dev v4 parent 1:1 classid 1:20 hfsc ls m2 5mbit
    nsx tc qdisc add dev v4 parent 1:10 handle 10: fq_codel limit 2000 target 4ms interval 80ms ce_threshold 2ms
    nsx tc qdisc add dev v4 parent 1:20 handle 20: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 3 3
    nsx tc qdisc add dev v4 parent 20:1 handle 21: sfq perturb 10 quantum 1514 divisor 1024 headdrop
    nsx tc qdisc add dev v4 parent 20:2 handle 22: codel limit 1000 target 5ms ecn
    nsx tc qdisc add dev v4 parent 20:3 handle 23: fq maxrate 100mbit flow_limit 50 horizon 5s horizon_drop
    nsx tc qdisc add dev v4 parent 20:4 handle 24: bfifo limit 64000
    nsx tc qdisc add dev v5 root handle 1: pfifo limit 100
    nsx tc filter add dev v4 parent 1: protocol ip prio 1 handle 16/0xff fw classid 1:10
    nsx tc filter add dev v4 parent 1: protocol ip prio 2 basic match 'cmp(u8 at 9 layer network eq 6)' \
      and 'cmp(u16 at 0 layer transport mask 0xff00 gt 1023)' classid 1:20
    nsx tc filter add dev v4 parent 1: protocol ip prio 3 flower ip_proto tcp dst_port 1000-2000 \
      dst_ip 198.18.0.0/15 classid 1:10
    nsx tc qdisc add dev v2 clsact
    nsx tc chain add dev v2 ingress protocol ip chain 5 flower ip_proto tcp dst_ip 0.0.0.0/16
    nsx tc filter add dev v2 ingress protocol ip prio 1 chain 5 flower ip_proto tcp dst_ip 198.18.0.0/16 \
      action gact drop
    nsx tc filter add dev v2 ingress protocol 802.1ad prio 2 flower vlan_id 100 vlan_prio 3 \
      vlan_ethtype 802.1q cvlan_id 200 cvlan_ethtype ip dst_ip 198.18.0.2 \
      action vlan push id 100 protocol 802.1ad priority 5 pipe action vlan pop pipe \
      action gact goto chain 5
    nsx tc filter add dev v2 ingress protocol ip prio 3 flower ct_state +trk+est ct_mark 0x10/0xff \
      enc_dst_ip 198.18.0.2 enc_key_id 42 enc_dst_port 4789 \
      action tunnel_key set src_ip 198.18.0.1 dst_ip 198.18.0.2 id 42 dst_port 4789 tos 0x10 ttl 64 nocsum \
      action connmark zone 5 pipe \
      action ct commit mark 0x10/0xff label 000102030405060708090a0b0c0d0e0f \
        nat src addr 198.18.0.1-198.18.0.10 port 1000-2000 pipe \
      action sample rate 100 group 5 trunc 128 \
      action nat ingress 198.18.0.0/16 198.19.0.0 \
      action bpf bytecode '1,6 0 0 0,' pipe
    nsx tc filter add dev v2 egress protocol ip prio 4 bpf bytecode '1,6 0 0 4294967295,' da
  fi
  if [ "$nft" = 1 ]; then
    nsx nft -f - <<'NFT'
table inet netqos {
  set limited { type ipv4_addr; flags interval; elements = { 198.18.0.0/24, 198.18.5.1 } }
  map marks { type ifname : mark; elements = { "v0" : 7, "v1" : 9 } }
  chain pod_v0 {
    ip daddr @limited limit rate over 100/second burst 5 packets drop
    counter comment "pod v0"
  }
  map dispatch { type ifname : verdict; elements = { "v0" : jump pod_v0, "v1" : accept } }
  chain pods {
    type filter hook forward priority 0; policy accept;
    ct state established,related accept
    iifname vmap @dispatch
    meta l4proto tcp ct count over 3 reject with tcp reset
    ip dscp set ef
    meta priority set 1:5
    ip6 saddr 2001:2::/48 meta mark set 0x10 accept
  }
}
table netdev nq {
  chain in {
    type filter hook ingress device "v0" priority -250;
    ip dscp set cs1
    limit rate over 1 mbytes/second drop
  }
}
NFT
    nsx "$work/capture" "$out" nft
    nsx nft flush chain inet netqos pod_v0
    nsx nft delete table netdev nq
  fi
  nsx "$work/capture" "$out" dumps
  nsx "$work/capture" "$out" errors
  nsx tc filter del dev v0 parent ffff: prio 1
  nsx tc filter del dev ifb1 parent 1: prio 1
  nsx tc class del dev ifb1 classid 1:20
  nsx tc chain del dev v1 ingress chain 3
  if [ "$extended" = 1 ]; then
    nsx tc filter del dev v4 parent 1: prio 2
    nsx tc class del dev v4 classid 1:20
    nsx tc chain del dev v2 ingress chain 5
    nsx tc actions del action police index 9
  fi
  nsx tc qdisc del dev v1 clsact
  nsx tc qdisc del dev v0 root
  nsx ip link del ifb1
  sleep 0.2
  kill -TERM "$monitor"
  wait "$monitor" || true
  monitor=
  if [ -n "${nft_monitor:-}" ]; then
    kill -TERM "$nft_monitor"
    wait "$nft_monitor" || true
    nft_monitor=
  fi
  exit 0
fi

uml=0
[ "${1:-}" = --uml ] && uml=1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
bash "$0" --inside 0 "$stage/host"
if [ "$uml" = 1 ]; then
  bash "$ROOT/scripts/uml-run.sh" -- bash "$0" --inside 1 "$stage/uml"
fi

# Each capture to the target that decodes it; a UML capture keeps a suffix.
place() { # from-dir suffix
  local from=$1 suffix=$2 f base target
  for f in "$from"/kernel-* "$from"/monitor/kernel-* "$from"/nft-monitor/kernel-*; do
    [ -e "$f" ] || continue
    base=$(basename "$f")
    case $base in
      kernel-link-*) target=link ;;
      kernel-qdisc-*) target=qdisc ;;
      kernel-class-*) target=class ;;
      kernel-filter-*) target=filter ;;
      kernel-chain-*) target=chain ;;
      kernel-action-*) target=action ;;
      kernel-ack-*) target=ack ;;
      kernel-event-*) target=monitor ;;
      kernel-nft-*) target=nft ;;
      *) continue ;;
    esac
    cp "$f" "$ROOT/fuzz/corpus/$target/$base$suffix"
  done
}
for t in link qdisc class filter chain action ack monitor nft; do
  mkdir -p "$ROOT/fuzz/corpus/$t"
  rm -f "$ROOT/fuzz/corpus/$t"/kernel-*
done
place "$stage/host" ""
[ "$uml" = 1 ] && place "$stage/uml" "-uml"
for t in link qdisc class filter chain action ack monitor nft; do
  printf '%-8s %s files\n' "$t" "$(ls "$ROOT/fuzz/corpus/$t" | wc -l)"
done
