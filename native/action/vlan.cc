// vlan: pop, push or modify a VLAN tag, or pop or push an Ethernet header (iproute2's m_vlan.c:
// the parameters, then the tag's id, protocol and priority, then the addresses).
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_vlan.h>

#include "registry.h"

namespace netqos {

namespace {

const NamedValue kVerbs[] = {{"pop", TCA_VLAN_ACT_POP},
                             {"push", TCA_VLAN_ACT_PUSH},
                             {"modify", TCA_VLAN_ACT_MODIFY},
                             {"pop_eth", TCA_VLAN_ACT_POP_ETH},
                             {"push_eth", TCA_VLAN_ACT_PUSH_ETH}};

void put_mac(Message& m, const FieldReader& r, const char* field, uint16_t type) {
  auto s = r.string(field);
  if (!s) r.fail(field, "is required with push_eth (a MAC address, e.g. \"02:00:00:00:00:01\")");
  uint8_t mac[6];
  if (!parse_mac(*s, mac)) r.fail(field, quote(*s) + " is not a MAC address (e.g. \"02:00:00:00:00:01\")");
  m.put(type, mac, sizeof mac);
}

void encode(Message& m, const FieldReader& r) {
  if (!r.has("action")) r.fail("action", "is required (pop, push, modify, pop_eth or push_eth)");
  auto action = static_cast<int>(read_named(r, "action", kVerbs, 0));
  bool tagging = action == TCA_VLAN_ACT_PUSH || action == TCA_VLAN_ACT_MODIFY;
  if (tagging && !r.has("id")) r.fail("id", "is required to push or modify a tag (0..4095)");
  for (const char* f : {"id", "protocol", "priority"})
    if (!tagging && r.has(f)) r.fail(f, "applies to push and modify only");
  tc_vlan p{};
  read_action_head(r, p, TC_ACT_PIPE);
  p.v_action = action;
  m.put(TCA_VLAN_PARMS, &p, sizeof p);
  if (r.has("id")) m.put_u16(TCA_VLAN_PUSH_VLAN_ID, static_cast<uint16_t>(r.u64_in("id", 0, 4095, 0)));
  if (auto proto = r.string("protocol")) {
    uint16_t v = *proto == "802.1q" ? ETH_P_8021Q : *proto == "802.1ad" ? ETH_P_8021AD : 0;
    if (!v) r.fail("protocol", quote(*proto) + " is not a VLAN protocol (allowed: 802.1q, 802.1ad)");
    m.put_u16(TCA_VLAN_PUSH_VLAN_PROTOCOL, htons(v));
  }
  put_u8_field(m, r, "priority", TCA_VLAN_PUSH_VLAN_PRIORITY, 0, 7);
  if (action == TCA_VLAN_ACT_PUSH_ETH) {
    put_mac(m, r, "dstMac", TCA_VLAN_PUSH_ETH_DST);
    put_mac(m, r, "srcMac", TCA_VLAN_PUSH_ETH_SRC);
  }
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_VLAN_MAX + 1];
  parse_nested(options, tb, TCA_VLAN_MAX);
  tc_vlan p;
  if (!read_parms(tb, TCA_VLAN_PARMS, p)) return;
  if (const char* verb = name_of(kVerbs, static_cast<uint32_t>(p.v_action))) w.set_string("action", verb);
  get_uint_field(tb, TCA_VLAN_PUSH_VLAN_ID, 2, w, "id");
  if (tb[TCA_VLAN_PUSH_VLAN_PROTOCOL] && mnl_attr_get_payload_len(tb[TCA_VLAN_PUSH_VLAN_PROTOCOL]) >= 2)
    w.set_string("protocol",
                 ntohs(attr_u16(tb[TCA_VLAN_PUSH_VLAN_PROTOCOL])) == ETH_P_8021AD ? "802.1ad" : "802.1q");
  get_uint_field(tb, TCA_VLAN_PUSH_VLAN_PRIORITY, 1, w, "priority");
  for (auto [type, field] :
       {std::pair{TCA_VLAN_PUSH_ETH_DST, "dstMac"}, std::pair{TCA_VLAN_PUSH_ETH_SRC, "srcMac"}})
    if (tb[type] && mnl_attr_get_payload_len(tb[type]) >= 6)
      w.set_string(field, mac_text(static_cast<const uint8_t*>(mnl_attr_get_payload(tb[type]))));
  write_action_head(p, w);
}

}  // namespace

extern const ActionKind vlan_action = {"vlan", encode, decode};

}  // namespace netqos
