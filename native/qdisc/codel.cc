// codel: one queue kept short by CoDel (iproute2's q_codel.c). Times in microseconds.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  nlattr* options = m.nest_start(TCA_OPTIONS);
  put_u32_field(m, r, "limit", TCA_CODEL_LIMIT, 1);
  put_u32_field(m, r, "intervalUs", TCA_CODEL_INTERVAL, 1);
  put_u32_field(m, r, "targetUs", TCA_CODEL_TARGET, 1);
  put_flag_field(m, r, "ecn", TCA_CODEL_ECN);
  put_u32_field(m, r, "ceThresholdUs", TCA_CODEL_CE_THRESHOLD);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_CODEL_MAX + 1];
  parse_nested(options, tb, TCA_CODEL_MAX);
  get_uint_field(tb, TCA_CODEL_LIMIT, 4, w, "limit");
  get_codel_time_field(tb, TCA_CODEL_INTERVAL, w, "intervalUs");
  get_codel_time_field(tb, TCA_CODEL_TARGET, w, "targetUs");
  get_flag_field(tb, TCA_CODEL_ECN, w, "ecn");
  get_codel_time_field(tb, TCA_CODEL_CE_THRESHOLD, w, "ceThresholdUs");
}

void xstats(const nlattr* app, FieldWriter& w) {
  if (mnl_attr_get_payload_len(app) < sizeof(tc_codel_xstats)) return;
  tc_codel_xstats x;
  std::memcpy(&x, mnl_attr_get_payload(app), sizeof x);
  w.set_u64("maxPacket", x.maxpacket);
  w.set_u64("count", x.count);
  w.set_u64("lastcount", x.lastcount);
  w.set_u64("ldelayUs", x.ldelay);
  w.set_i64("dropNextUs", x.drop_next);
  w.set_u64("dropOverlimit", x.drop_overlimit);
  w.set_u64("ecnMark", x.ecn_mark);
  w.set_bool("dropping", x.dropping != 0);
  w.set_u64("ceMark", x.ce_mark);
}

}  // namespace

extern const QdiscKind codel_qdisc = {"codel", 0, 0, encode, decode, xstats};

}  // namespace netqos
