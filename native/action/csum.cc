// csum: recompute checksums after an edit (the IPv4 header checksum after a DSCP rewrite).
//
// `update` lists the checksums (["ipv4h"], ["ipv4h", "tcp"]); it reads back in flag order.
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_csum.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

struct Flag {
  const char* name;
  uint32_t value;
};
const Flag kFlags[] = {
    {"ipv4h", TCA_CSUM_UPDATE_FLAG_IPV4HDR}, {"icmp", TCA_CSUM_UPDATE_FLAG_ICMP},
    {"igmp", TCA_CSUM_UPDATE_FLAG_IGMP},     {"tcp", TCA_CSUM_UPDATE_FLAG_TCP},
    {"udp", TCA_CSUM_UPDATE_FLAG_UDP},       {"udplite", TCA_CSUM_UPDATE_FLAG_UDPLITE},
    {"sctp", TCA_CSUM_UPDATE_FLAG_SCTP},
};
const char kAllowed[] = "ipv4h, icmp, igmp, tcp, udp, udplite, sctp";

uint32_t flag_for(const FieldReader& r, const std::string& name) {
  for (const auto& f : kFlags)
    if (name == f.name) return f.value;
  if (name == "ip4h") return TCA_CSUM_UPDATE_FLAG_IPV4HDR;  // tc's spelling
  r.fail("update", quote(name) + " is not a checksum (allowed: " + std::string(kAllowed) + ")");
}

uint32_t read_update(const FieldReader& r) {
  // Seven checksums, and tc's spelling of one: a longer list only repeats them.
  if (r.array_length("update") > 16)
    r.fail("update", "has " + std::to_string(r.array_length("update")) + " names (at most 16)");
  auto names = r.strings("update");
  if (!names || names->empty())
    r.fail("update", "is required (a list of the checksums to recompute: " + std::string(kAllowed) + ")");
  uint32_t flags = 0;
  for (const auto& name : *names) flags |= flag_for(r, name);
  return flags;
}

void encode(Message& m, const FieldReader& r) {
  uint32_t flags = read_update(r);
  auto* p = static_cast<tc_csum*>(m.put_zeroed(TCA_CSUM_PARMS, sizeof(tc_csum)));
  p->index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));
  p->action = parse_control(r, "control", TC_ACT_OK);  // tc's default
  p->update_flags = flags;
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_CSUM_MAX + 1];
  parse_nested(options, tb, TCA_CSUM_MAX);
  if (!tb[TCA_CSUM_PARMS] || mnl_attr_get_payload_len(tb[TCA_CSUM_PARMS]) < sizeof(tc_csum)) return;
  tc_csum p;
  std::memcpy(&p, mnl_attr_get_payload(tb[TCA_CSUM_PARMS]), sizeof p);
  std::vector<std::string> update;
  for (const auto& f : kFlags)
    if (p.update_flags & f.value) update.push_back(f.name);
  w.set_strings("update", update);
  w.set_string("control", control_name(p.action));
  w.set_u64("index", p.index);
}

}  // namespace

extern const ActionKind csum_action = {"csum", encode, decode};

}  // namespace netqos
