// tunnel_key: set the tunnel metadata a collect-metadata tunnel device (vxlan, geneve, ...)
// encapsulates with, or release it (iproute2's m_tunnel_key.c: the keys, the checksum flag,
// then the parameters).
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_tunnel_key.h>
#include <sys/socket.h>

#include "registry.h"

namespace netqos {

namespace {

void put_addr(Message& m, const FieldReader& r, const char* field, uint16_t v4, uint16_t v6) {
  if (!r.has(field)) return;
  IpPrefix ip = read_ip(r, field, AF_UNSPEC, false);
  m.put(ip.family == AF_INET ? v4 : v6, ip.addr, ip.len);
}

void encode(Message& m, const FieldReader& r) {
  auto verb = r.string("action");
  if (!verb || (*verb != "set" && *verb != "unset"))
    r.fail("action", "is required (set: add tunnel metadata, unset: release it)");
  bool set = *verb == "set";
  if (set && (!r.has("srcIp") || !r.has("dstIp"))) r.fail("srcIp and dstIp are required to set a tunnel key");
  if (!set)
    for (const char* f : {"srcIp", "dstIp", "keyId", "dstPort", "tos", "ttl"})
      if (r.has(f)) r.fail(f, "applies to set only");
  put_addr(m, r, "srcIp", TCA_TUNNEL_KEY_ENC_IPV4_SRC, TCA_TUNNEL_KEY_ENC_IPV6_SRC);
  put_addr(m, r, "dstIp", TCA_TUNNEL_KEY_ENC_IPV4_DST, TCA_TUNNEL_KEY_ENC_IPV6_DST);
  if (r.has("keyId"))
    m.put_u32(TCA_TUNNEL_KEY_ENC_KEY_ID, htonl(static_cast<uint32_t>(r.u64_in("keyId", 0, 0xFFFFFFFFu, 0))));
  if (r.has("dstPort"))
    m.put_u16(TCA_TUNNEL_KEY_ENC_DST_PORT, htons(static_cast<uint16_t>(r.u64_in("dstPort", 0, 0xFFFF, 0))));
  put_u8_field(m, r, "tos", TCA_TUNNEL_KEY_ENC_TOS);
  put_u8_field(m, r, "ttl", TCA_TUNNEL_KEY_ENC_TTL);
  m.put_u8(TCA_TUNNEL_KEY_NO_CSUM, r.boolean("checksum").value_or(true) ? 0 : 1);
  tc_tunnel_key p{};
  read_action_head(r, p, TC_ACT_PIPE);
  p.t_action = set ? TCA_TUNNEL_KEY_ACT_SET : TCA_TUNNEL_KEY_ACT_RELEASE;
  m.put(TCA_TUNNEL_KEY_PARMS, &p, sizeof p);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_TUNNEL_KEY_MAX + 1];
  parse_nested(options, tb, TCA_TUNNEL_KEY_MAX);
  tc_tunnel_key p;
  if (!read_parms(tb, TCA_TUNNEL_KEY_PARMS, p)) return;
  bool set = p.t_action == TCA_TUNNEL_KEY_ACT_SET;
  w.set_string("action", set ? "set" : "unset");
  auto addr = [&](const char* field, int v4, int v6) {
    if (tb[v4] && mnl_attr_get_payload_len(tb[v4]) >= 4)
      w.set_string(field, ip_text(AF_INET, mnl_attr_get_payload(tb[v4])));
    else if (tb[v6] && mnl_attr_get_payload_len(tb[v6]) >= 16)
      w.set_string(field, ip_text(AF_INET6, mnl_attr_get_payload(tb[v6])));
  };
  addr("srcIp", TCA_TUNNEL_KEY_ENC_IPV4_SRC, TCA_TUNNEL_KEY_ENC_IPV6_SRC);
  addr("dstIp", TCA_TUNNEL_KEY_ENC_IPV4_DST, TCA_TUNNEL_KEY_ENC_IPV6_DST);
  if (tb[TCA_TUNNEL_KEY_ENC_KEY_ID] && mnl_attr_get_payload_len(tb[TCA_TUNNEL_KEY_ENC_KEY_ID]) >= 4)
    w.set_u64("keyId", ntohl(attr_u32(tb[TCA_TUNNEL_KEY_ENC_KEY_ID])));
  if (tb[TCA_TUNNEL_KEY_ENC_DST_PORT] && mnl_attr_get_payload_len(tb[TCA_TUNNEL_KEY_ENC_DST_PORT]) >= 2)
    w.set_u64("dstPort", ntohs(attr_u16(tb[TCA_TUNNEL_KEY_ENC_DST_PORT])));
  get_uint_field(tb, TCA_TUNNEL_KEY_ENC_TOS, 1, w, "tos");
  get_uint_field(tb, TCA_TUNNEL_KEY_ENC_TTL, 1, w, "ttl");
  if (set && tb[TCA_TUNNEL_KEY_NO_CSUM] && mnl_attr_get_payload_len(tb[TCA_TUNNEL_KEY_NO_CSUM]) >= 1)
    w.set_bool("checksum", attr_u8(tb[TCA_TUNNEL_KEY_NO_CSUM]) == 0);
  write_action_head(p, w);
}

}  // namespace

extern const ActionKind tunnel_key_action = {"tunnel_key", encode, decode};

}  // namespace netqos
