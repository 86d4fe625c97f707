// bpf (classifier): a BPF program classifies the packet (its return value a class, or with
// direct-action a verdict). iproute2's f_bpf.c order: classid and actions as given, then the
// program (bpf_program.h), then the flags.
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>

#include "bpf_program.h"
#include "operation.h"
#include "registry.h"

namespace netqos {

namespace {

const BpfAttrs kAttrs = {TCA_BPF_OPS_LEN, TCA_BPF_OPS, TCA_BPF_FD, TCA_BPF_NAME, TCA_BPF_ID, TCA_BPF_TAG};

void encode(Message& m, const FieldReader& r) {
  uint32_t gen_flags = read_cls_flags(r);
  nlattr* options = m.nest_start(TCA_OPTIONS);
  if (r.has("classid")) m.put_u32(TCA_BPF_CLASSID, parse_handle(r, "classid", HandleContext::ClassId, 0));
  encode_actions(m, TCA_BPF_ACT, r);
  put_bpf_program(m, r, kAttrs);
  if (gen_flags) m.put_u32(TCA_BPF_FLAGS_GEN, gen_flags);
  if (r.boolean("directAction").value_or(false)) m.put_u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_BPF_MAX + 1];
  parse_nested(options, tb, TCA_BPF_MAX);
  if (tb[TCA_BPF_CLASSID] && mnl_attr_get_payload_len(tb[TCA_BPF_CLASSID]) >= 4)
    w.set_string("classid", handle_name(attr_u32(tb[TCA_BPF_CLASSID]), HandleContext::ClassId));
  get_bpf_program(tb, kAttrs, w);
  if (tb[TCA_BPF_FLAGS] && mnl_attr_get_payload_len(tb[TCA_BPF_FLAGS]) >= 4 &&
      (attr_u32(tb[TCA_BPF_FLAGS]) & TCA_BPF_FLAG_ACT_DIRECT))
    w.set_bool("directAction", true);
  if (tb[TCA_BPF_FLAGS_GEN] && mnl_attr_get_payload_len(tb[TCA_BPF_FLAGS_GEN]) >= 4)
    write_cls_flags(attr_u32(tb[TCA_BPF_FLAGS_GEN]), w);
  if (tb[TCA_BPF_ACT]) decode_actions(tb[TCA_BPF_ACT], w);
}

}  // namespace

extern const FilterKind bpf_filter = {"bpf", encode, decode, nullptr};

}  // namespace netqos
