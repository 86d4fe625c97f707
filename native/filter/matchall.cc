// matchall: every packet runs the filter's actions (and gets its classid). Emits TCA_OPTIONS as
// iproute2's f_matchall.c does: classid, actions, then flags.
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>

#include "operation.h"
#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  uint32_t flags = read_cls_flags(r);

  nlattr* options = m.nest_start(TCA_OPTIONS);
  if (r.has("classid"))
    m.put_u32(TCA_MATCHALL_CLASSID, parse_handle(r, "classid", HandleContext::ClassId, 0));
  encode_actions(m, TCA_MATCHALL_ACT, r);
  // Host byte order, as iproute2 sends it.
  if (flags) m.put_u32(TCA_MATCHALL_FLAGS, flags);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_MATCHALL_MAX + 1];
  parse_nested(options, tb, TCA_MATCHALL_MAX);
  if (tb[TCA_MATCHALL_CLASSID] && mnl_attr_get_payload_len(tb[TCA_MATCHALL_CLASSID]) >= 4)
    w.set_string("classid", handle_name(attr_u32(tb[TCA_MATCHALL_CLASSID]), HandleContext::ClassId));
  if (tb[TCA_MATCHALL_FLAGS]) write_cls_flags(attr_u32(tb[TCA_MATCHALL_FLAGS]), w);
  if (tb[TCA_MATCHALL_ACT]) decode_actions(tb[TCA_MATCHALL_ACT], w);
}

}  // namespace

extern const FilterKind matchall_filter = {"matchall", encode, decode, nullptr};

}  // namespace netqos
