// bpf (action): run a BPF program on the packet; its return value is the verdict. The program
// as iproute2's m_bpf.c sends it (bpf_program.h), then the parameters.
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_bpf.h>

#include "bpf_program.h"
#include "registry.h"

namespace netqos {

namespace {

const BpfAttrs kAttrs = {TCA_ACT_BPF_OPS_LEN, TCA_ACT_BPF_OPS, TCA_ACT_BPF_FD,
                         TCA_ACT_BPF_NAME,    TCA_ACT_BPF_ID,  TCA_ACT_BPF_TAG};

void encode(Message& m, const FieldReader& r) {
  put_bpf_program(m, r, kAttrs);
  tc_act_bpf p{};
  read_action_head(r, p, TC_ACT_PIPE);
  m.put(TCA_ACT_BPF_PARMS, &p, sizeof p);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_ACT_BPF_MAX + 1];
  parse_nested(options, tb, TCA_ACT_BPF_MAX);
  tc_act_bpf p;
  if (!read_parms(tb, TCA_ACT_BPF_PARMS, p)) return;
  get_bpf_program(tb, kAttrs, w);
  write_action_head(p, w);
}

}  // namespace

extern const ActionKind bpf_action = {"bpf", encode, decode};

}  // namespace netqos
