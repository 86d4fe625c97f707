// mirred: redirect or mirror a packet to another interface's egress or ingress.
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_mirred.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  auto dev = r.iface("dev");
  if (!dev) r.fail("dev", "is required (the interface to redirect or mirror to)");
  std::string direction = r.string("direction").value_or("egress");
  std::string mode = r.string("mode").value_or("redirect");
  if (direction != "egress" && direction != "ingress")
    r.fail("direction", quote(direction) + " is not a direction (allowed: egress, ingress)");
  if (mode != "redirect" && mode != "mirror")
    r.fail("mode", quote(mode) + " is not a mode (allowed: redirect, mirror)");
  bool redirect = mode == "redirect";
  auto* p = static_cast<tc_mirred*>(m.put_zeroed(TCA_MIRRED_PARMS, sizeof(tc_mirred)));
  p->index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));
  // tc's defaults: a redirect ends classification (stolen), a mirror lets it go on (pipe).
  p->action = parse_control(r, "control", redirect ? TC_ACT_STOLEN : TC_ACT_PIPE);
  p->eaction = direction == "egress" ? (redirect ? TCA_EGRESS_REDIR : TCA_EGRESS_MIRROR)
                                     : (redirect ? TCA_INGRESS_REDIR : TCA_INGRESS_MIRROR);
  m.put_ifindex_at(&p->ifindex, *dev);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_MIRRED_MAX + 1];
  parse_nested(options, tb, TCA_MIRRED_MAX);
  if (!tb[TCA_MIRRED_PARMS] || mnl_attr_get_payload_len(tb[TCA_MIRRED_PARMS]) < sizeof(tc_mirred)) return;
  tc_mirred p;
  std::memcpy(&p, mnl_attr_get_payload(tb[TCA_MIRRED_PARMS]), sizeof p);
  bool egress = p.eaction == TCA_EGRESS_REDIR || p.eaction == TCA_EGRESS_MIRROR;
  bool redirect = p.eaction == TCA_EGRESS_REDIR || p.eaction == TCA_INGRESS_REDIR;
  w.set_string("direction", egress ? "egress" : "ingress");
  w.set_string("mode", redirect ? "redirect" : "mirror");
  w.set_u64("dev", p.ifindex);
  w.set_string("control", control_name(p.action));
  w.set_u64("index", p.index);
}

}  // namespace

extern const ActionKind mirred_action = {"mirred", encode, decode};

}  // namespace netqos
