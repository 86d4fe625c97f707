#!/usr/bin/env bash
# Capture the nfnetlink batches Debian's `nft` (1.0.6) sends for the rules netqos makes, as
# golden fixtures for our own encoders: test/fixtures/nft-requests.json.
#
# Must run as root. Every case runs in its own throwaway network namespace (name prefix nqn-,
# always deleted again through a trap, even on failure) holding a veth pair v0/v1, where a setup
# ruleset is loaded (not captured) before the captured command. Never touches the root
# namespace's ruleset.
#
# Each command runs under
#   strace -f -e trace=sendmsg,sendto -e write=all -xx -s 65536 -o FILE nft COMMAND
# and scripts/parse-nft-strace.js keeps the messages between NFNL_MSG_BATCH_BEGIN and
# BATCH_END (nft's cache reads before the batch are not kept).
#
# Usage: sudo bash scripts/gen-nft-fixtures.sh [OUT.json]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/test/fixtures/nft-requests.json}"
PARSER="$ROOT/scripts/parse-nft-strace.js"

die() { echo "gen-nft-fixtures: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
for t in ip nft strace node; do command -v "$t" >/dev/null || die "missing tool: $t"; done

WORK="$(mktemp -d /tmp/nqn-fixtures.XXXXXX)"
ALL_NS=()
cleanup() {
  local rc=$? ns
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
    ns="nqn-$$-${RANDOM}"
    [ -e "/run/netns/$ns" ] || break
  done
  ALL_NS+=("$ns")
  ip netns add "$ns"
  ip -n "$ns" link add v0 type veth peer name v1
  ip -n "$ns" link set v0 up
  ip -n "$ns" link set v1 up
  NS="$ns"
}

NAMES=(); SETUPS=(); CMDS=(); NOTES=()
add_case() { NAMES+=("$1"); SETUPS+=("$2"); CMDS+=("$3"); NOTES+=("${4:-}"); }

# Setups (nft syntax; `fwd`, `ingress` and other keywords cannot name objects in nft text).
NETDEV='add table netdev t; add chain netdev t in { type filter hook ingress device "v0" priority -250; }'
INET='add table inet t; add chain inet t pods { type filter hook forward priority 0; }; add chain inet t pod1'
RULE3="$INET; add rule inet t pods counter"   # in a fresh namespace that rule's handle is 3
VMAP="$INET; add map inet t pods_in { type ifname : verdict; }"
ADDRS="$INET; add set inet t addrs { type ipv4_addr; }"
MARKS="$INET; add map inet t marks { type ifname : mark; }"

#        name                      setup        command
add_case table_add                 ''           'add table netdev netqos'
add_case table_create              ''           'create table inet netqos'
add_case table_comment             ''           'add table inet netqos { comment "netqos"; }'
add_case table_delete              'add table inet netqos' 'delete table inet netqos'
add_case table_flush               "$RULE3"     'flush table inet t'
add_case chain_netdev_ingress      'add table netdev t' 'add chain netdev t pod_in { type filter hook ingress device "v0" priority -250; }'
add_case chain_netdev_egress       'add table netdev t' 'add chain netdev t pod_out { type filter hook egress device "v0" priority -250; }'
add_case chain_inet_forward        'add table inet t' 'add chain inet t pods { type filter hook forward priority 5; policy accept; }'
add_case chain_policy_drop         'add table inet t' 'add chain inet t pods { type filter hook input priority 0; policy drop; }'
add_case chain_regular             'add table inet t' 'add chain inet t pod1'
add_case chain_create              'add table inet t' 'create chain inet t pod1'
add_case chain_comment             'add table inet t' 'add chain inet t pod1 { comment "pod one"; }'
add_case chain_delete              "$INET"      'delete chain inet t pod1'
add_case chain_delete_handle       "$INET"      'delete chain inet t handle 2'
add_case chain_flush               "$RULE3"     'flush chain inet t pods'
add_case rule_limit_over           "$NETDEV"    'add rule netdev t in limit rate over 100/second burst 5 packets drop'
add_case rule_limit_ip             "$NETDEV"    'add rule netdev t in meta protocol ip limit rate over 100/second burst 5 packets drop'
add_case rule_limit_ip6            "$NETDEV"    'add rule netdev t in meta protocol ip6 limit rate over 250/second burst 20 packets drop'
add_case rule_limit_under          "$NETDEV"    'add rule netdev t in limit rate 10/minute burst 3 packets accept'
add_case rule_limit_bytes          "$NETDEV"    'add rule netdev t in limit rate over 2 mbytes/second burst 1 mbytes drop'
add_case rule_dscp_ip              "$NETDEV"    'add rule netdev t in ip dscp set ef'
add_case rule_dscp_ip6             "$NETDEV"    'add rule netdev t in ip6 dscp set ef'
add_case rule_dscp_ip_inet         "$INET"      'add rule inet t pods ip dscp set af41'
add_case rule_meta_priority        "$NETDEV"    'add rule netdev t in meta priority set "1:10"'
add_case rule_meta_mark            "$INET"      'add rule inet t pods meta mark set 0x10'
add_case rule_ct_count             "$INET"      'add rule inet t pods oifname "v0" tcp flags & (fin|syn|rst|ack) == syn ct count over 3 reject with tcp reset'
add_case rule_ct_state             "$INET"      'add rule inet t pods ct state established,related accept'
add_case rule_ct_invalid           "$INET"      'add rule inet t pods ct state invalid drop'
add_case rule_reject_icmpx         "$INET"      'add rule inet t pods reject with icmpx type admin-prohibited'
add_case rule_counter_accept       "$INET"      'add rule inet t pods iifname "v0" counter accept'
add_case rule_goto                 "$INET"      'add rule inet t pods iifname "v0" goto pod1'
add_case rule_jump                 "$INET"      'add rule inet t pods oifname "v0" jump pod1'
add_case rule_comment              "$INET"      'add rule inet t pods counter comment "netqos pod1"'
add_case rule_insert               "$RULE3"     'insert rule inet t pods counter'
add_case rule_insert_position      "$RULE3"     'insert rule inet t pods position 3 drop'
add_case rule_add_position         "$RULE3"     'add rule inet t pods position 3 drop'
add_case rule_replace              "$RULE3"     'replace rule inet t pods handle 3 counter drop'
add_case rule_delete               "$RULE3"     'delete rule inet t pods handle 3'
add_case set_vmap_ifname           "$INET"      'add map inet t pods_in { type ifname : verdict; }'
add_case set_ipv4                  "$INET"      'add set inet t addrs { type ipv4_addr; }'
add_case set_ipv6                  "$INET"      'add set inet t addrs6 { type ipv6_addr; }'
add_case set_inet_service          "$INET"      'add set inet t ports { type inet_service; }'
add_case set_map_mark              "$INET"      'add map inet t marks { type ifname : mark; }'
add_case set_options               "$INET"      'add set inet t s { type ipv4_addr; size 1024; policy memory; comment "pods"; }'
add_case set_timeout               "$INET"      'add set inet t s { type ipv4_addr; timeout 30s; }'
add_case set_delete                "$ADDRS"     'delete set inet t addrs'
add_case set_flush                 "$ADDRS"     'flush set inet t addrs'
add_case elements_vmap_goto        "$VMAP"      'add element inet t pods_in { "v0" : goto pod1 }'
add_case elements_vmap_jump        "$VMAP"      'add element inet t pods_in { "v1" : jump pod1 }'
add_case elements_vmap_delete      "$VMAP; add element inet t pods_in { \"v0\" : goto pod1 }" 'delete element inet t pods_in { "v0" }'
add_case elements_ipv4             "$ADDRS"     'add element inet t addrs { 198.18.0.1, 198.18.0.2 }'
add_case elements_mark_map         "$MARKS"     'add element inet t marks { "v0" : 0x10 }'
add_case rule_vmap_iifname         "$VMAP"      'add rule inet t pods iifname vmap @pods_in'
add_case rule_vmap_oifname         "$VMAP"      'add rule inet t pods oifname vmap @pods_in'
add_case rule_lookup_saddr         "$ADDRS"     'add rule inet t pods ip saddr @addrs drop'
add_case rule_lookup_invert        "$ADDRS"     'add rule inet t pods ip saddr != @addrs drop'
add_case batch_map_and_rule        "$INET"      'add map inet t m { type ifname : verdict; }; add element inet t m { "v0" : goto pod1 }; add rule inet t pods iifname vmap @m' \
                                                'a set made and used in one batch: the element list and the lookup carry its transaction id'

ENTRIES=()
OMITTED=()
for i in "${!NAMES[@]}"; do
  name="${NAMES[$i]}"; setup="${SETUPS[$i]}"; cmd="${CMDS[$i]}"; note="${NOTES[$i]}"
  dir="$WORK/$(printf '%02d' "$i")-$name"
  mkdir -p "$dir"
  new_ns
  if [ -n "$setup" ] && ! ip netns exec "$NS" nft "$setup" >"$dir/setup.log" 2>&1; then
    echo "gen-nft-fixtures: $name: setup failed: $(cat "$dir/setup.log")" >&2
    OMITTED+=("$name (setup failed)")
    ip netns del "$NS"
    continue
  fi
  set +e
  ip netns exec "$NS" strace -f -e trace=sendmsg,sendto -e write=all -xx -s 65536 \
    -o "$dir/strace.txt" nft "$cmd" >"$dir/stdout" 2>"$dir/stderr"
  rc=$?
  set -e
  ip netns del "$NS"
  if node "$PARSER" case --strace "$dir/strace.txt" --name "$name" --setup "$setup" --command "$cmd" \
      --note "$note" --exit "$rc" --stderr-file "$dir/stderr" >"$dir/entry.json"; then
    ENTRIES+=("$dir/entry.json")
    if [ "$rc" -eq 0 ]; then status="ok"; else status="rc=$rc: $(tr '\n' ' ' <"$dir/stderr")"; fi
    printf 'captured %-26s %s\n' "$name" "$status"
  else
    echo "gen-nft-fixtures: $name: no batch captured (rc=$rc): $(cat "$dir/stderr")" >&2
    OMITTED+=("$name (no batch sent)")
  fi
done

[ "${#ENTRIES[@]}" -gt 0 ] || die "no case captured"
mkdir -p "$(dirname "$OUT")"
node "$PARSER" assemble --nft "$(nft --version)" --kernel "$(uname -r)" "$OUT" "${ENTRIES[@]}"
echo "wrote $OUT: ${#ENTRIES[@]} cases"
if [ "${#OMITTED[@]}" -gt 0 ]; then
  echo "omitted: ${OMITTED[*]}" >&2
  exit 1
fi
