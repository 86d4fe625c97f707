// nat: stateless IPv4 address translation: packets from (egress) or to (ingress) `old` (a
// prefix) get `new` instead, the prefix's host bits kept (iproute2's m_nat.c).
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_nat.h>
#include <sys/socket.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  std::string direction = r.string("direction").value_or("");
  if (direction != "egress" && direction != "ingress")
    r.fail("direction", "is required (egress: rewrite sources, ingress: rewrite destinations)");
  IpPrefix from = read_ip(r, "old", AF_INET, true);
  IpPrefix to = read_ip(r, "new", AF_INET, false);
  tc_nat p{};
  read_action_head(r, p, TC_ACT_OK);
  std::memcpy(&p.old_addr, from.addr, 4);
  std::memcpy(&p.new_addr, to.addr, 4);
  p.mask = htonl(from.bits ? ~0u << (32 - from.bits) : 0);
  p.flags = direction == "egress" ? TCA_NAT_FLAG_EGRESS : 0;
  m.put(TCA_NAT_PARMS, &p, sizeof p);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_NAT_MAX + 1];
  parse_nested(options, tb, TCA_NAT_MAX);
  tc_nat p;
  if (!read_parms(tb, TCA_NAT_PARMS, p)) return;
  w.set_string("direction", p.flags & TCA_NAT_FLAG_EGRESS ? "egress" : "ingress");
  w.set_string("old", ip_masked_text(AF_INET, reinterpret_cast<const uint8_t*>(&p.old_addr),
                                     reinterpret_cast<const uint8_t*>(&p.mask)));
  w.set_string("new", ip_text(AF_INET, &p.new_addr));
  write_action_head(p, w);
}

}  // namespace

extern const ActionKind nat_action = {"nat", encode, decode};

}  // namespace netqos
