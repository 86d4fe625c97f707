// connmark: copy the connection's mark (in conntrack zone `zone`) to the packet.
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_connmark.h>

#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  tc_connmark p{};
  read_action_head(r, p, TC_ACT_PIPE);
  p.zone = static_cast<uint16_t>(r.u64_in("zone", 0, 0xFFFF, 0));
  m.put(TCA_CONNMARK_PARMS, &p, sizeof p);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_CONNMARK_MAX + 1];
  parse_nested(options, tb, TCA_CONNMARK_MAX);
  tc_connmark p;
  if (!read_parms(tb, TCA_CONNMARK_PARMS, p)) return;
  w.set_u64("zone", p.zone);
  write_action_head(p, w);
}

}  // namespace

extern const ActionKind connmark_action = {"connmark", encode, decode};

}  // namespace netqos
