// fq_codel: per-flow queues, each kept short by CoDel (iproute2's q_fq_codel.c: the attributes
// given, in its order). Times in microseconds. Extended statistics: the qdisc's (drops over the
// limit, ECN marks, flows) and a class's (a flow queue: its deficit and delay).
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

// The u32 options, in the order tc sends them; `time`: kept in CoDel's 1024 ns units.
struct U32Option {
  const char* field;
  uint16_t type;
  uint64_t lo;
  bool time;
};
const U32Option kBefore[] = {{"limit", TCA_FQ_CODEL_LIMIT, 1, false},
                             {"flows", TCA_FQ_CODEL_FLOWS, 1, false},
                             {"quantum", TCA_FQ_CODEL_QUANTUM, 1, false},
                             {"intervalUs", TCA_FQ_CODEL_INTERVAL, 1, true},
                             {"targetUs", TCA_FQ_CODEL_TARGET, 1, true}};
const U32Option kAfter[] = {{"ceThresholdUs", TCA_FQ_CODEL_CE_THRESHOLD, 0, true},
                            {"memoryLimit", TCA_FQ_CODEL_MEMORY_LIMIT, 1, false},
                            {"dropBatch", TCA_FQ_CODEL_DROP_BATCH_SIZE, 1, false}};

void encode(Message& m, const FieldReader& r) {
  nlattr* options = m.nest_start(TCA_OPTIONS);
  for (const auto& o : kBefore) put_u32_field(m, r, o.field, o.type, o.lo);
  put_flag_field(m, r, "ecn", TCA_FQ_CODEL_ECN);
  for (const auto& o : kAfter) put_u32_field(m, r, o.field, o.type, o.lo);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_FQ_CODEL_MAX + 1];
  parse_nested(options, tb, TCA_FQ_CODEL_MAX);
  auto get = [&](const U32Option& o) {
    if (o.time)
      get_codel_time_field(tb, o.type, w, o.field);
    else
      get_uint_field(tb, o.type, 4, w, o.field);
  };
  for (const auto& o : kBefore) get(o);
  get_flag_field(tb, TCA_FQ_CODEL_ECN, w, "ecn");
  for (const auto& o : kAfter) get(o);
}

void xstats(const nlattr* app, FieldWriter& w) {
  if (mnl_attr_get_payload_len(app) < sizeof(tc_fq_codel_xstats)) return;
  tc_fq_codel_xstats x;
  std::memcpy(&x, mnl_attr_get_payload(app), sizeof x);
  if (x.type == TCA_FQ_CODEL_XSTATS_QDISC) {
    const auto& q = x.qdisc_stats;
    w.set_u64("maxPacket", q.maxpacket);
    w.set_u64("dropOverlimit", q.drop_overlimit);
    w.set_u64("ecnMark", q.ecn_mark);
    w.set_u64("newFlowCount", q.new_flow_count);
    w.set_u64("newFlows", q.new_flows_len);
    w.set_u64("oldFlows", q.old_flows_len);
    w.set_u64("ceMark", q.ce_mark);
    w.set_u64("memoryUsage", q.memory_usage);
    w.set_u64("dropOvermemory", q.drop_overmemory);
  } else if (x.type == TCA_FQ_CODEL_XSTATS_CLASS) {
    const auto& c = x.class_stats;
    w.set_i64("deficit", c.deficit);
    w.set_u64("ldelayUs", c.ldelay);
    w.set_u64("count", c.count);
    w.set_u64("lastcount", c.lastcount);
    w.set_bool("dropping", c.dropping != 0);
    w.set_i64("dropNextUs", c.drop_next);
  }
}

}  // namespace

extern const QdiscKind fq_codel_qdisc = {"fq_codel", 0, 0, encode, decode, xstats};

}  // namespace netqos
