// gact: the generic action, a bare verdict ("drop", "ok", "pipe", "goto chain 1", ...) as tc's
// "action drop" / "action gact pass". Random verdicts (TCA_GACT_PROB) are not supported.
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_gact.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  if (!r.has("control")) r.fail("control", "is required (e.g. \"drop\", \"ok\", \"pipe\", \"goto chain 1\")");
  auto* p = static_cast<tc_gact*>(m.put_zeroed(TCA_GACT_PARMS, sizeof(tc_gact)));
  p->index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));
  p->action = parse_control(r, "control", TC_ACT_OK);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_GACT_MAX + 1];
  parse_nested(options, tb, TCA_GACT_MAX);
  if (!tb[TCA_GACT_PARMS] || mnl_attr_get_payload_len(tb[TCA_GACT_PARMS]) < sizeof(tc_gact)) return;
  tc_gact p;
  std::memcpy(&p, mnl_attr_get_payload(tb[TCA_GACT_PARMS]), sizeof p);
  w.set_string("control", control_name(p.action));
  w.set_u64("index", p.index);
}

}  // namespace

extern const ActionKind gact_action = {"gact", encode, decode};

}  // namespace netqos
