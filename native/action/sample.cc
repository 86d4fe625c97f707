// sample: send one packet in `rate` to psample group `group` (truncated to `trunc` bytes), for
// sFlow-style monitoring (iproute2's m_sample.c).
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_sample.h>

#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  tc_sample p{};
  read_action_head(r, p, TC_ACT_PIPE);
  // As tc: a new sampler needs its rate and group; naming an existing one (index) needs neither.
  if (!p.index && !r.has("rate")) r.fail("rate", "is required (sample one packet in rate, at least 1)");
  if (!p.index && !r.has("group")) r.fail("group", "is required (the psample group to send samples to)");
  m.put(TCA_SAMPLE_PARMS, &p, sizeof p);
  put_u32_field(m, r, "rate", TCA_SAMPLE_RATE, 1);
  put_u32_field(m, r, "group", TCA_SAMPLE_PSAMPLE_GROUP);
  put_u32_field(m, r, "trunc", TCA_SAMPLE_TRUNC_SIZE, 1);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_SAMPLE_MAX + 1];
  parse_nested(options, tb, TCA_SAMPLE_MAX);
  tc_sample p;
  if (!read_parms(tb, TCA_SAMPLE_PARMS, p)) return;
  get_uint_field(tb, TCA_SAMPLE_RATE, 4, w, "rate");
  get_uint_field(tb, TCA_SAMPLE_PSAMPLE_GROUP, 4, w, "group");
  get_uint_field(tb, TCA_SAMPLE_TRUNC_SIZE, 4, w, "trunc");
  write_action_head(p, w);
}

}  // namespace

extern const ActionKind sample_action = {"sample", encode, decode};

}  // namespace netqos
