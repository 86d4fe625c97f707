// fq: per-flow fair queueing with pacing (iproute2's q_fq.c: the attributes given, in its
// order). Rates in bit/s (the kernel keeps 32-bit bytes/s), times in microseconds (the timer
// slack in nanoseconds). Extended statistics: flows, throttling, drops by cause.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

// A rate in bit/s as the kernel's u32 bytes/s.
void put_rate(Message& m, const FieldReader& r, const char* field, uint16_t type) {
  if (!r.has(field)) return;
  uint64_t bytes = read_rate_bytes(r, field, true);
  if (bytes > 0xFFFFFFFFu) r.fail(field, "is above what fq keeps (34359738360 bit/s)");
  m.put_u32(type, static_cast<uint32_t>(bytes));
}

void encode(Message& m, const FieldReader& r) {
  nlattr* options = m.nest_start(TCA_OPTIONS);
  if (r.has("buckets")) {
    uint64_t buckets = r.u64_in("buckets", 1, 1u << 30, 0);
    uint32_t log = 0;
    while ((2ull << log) <= buckets) log++;  // tc's ilog2: the power of two at or below
    m.put_u32(TCA_FQ_BUCKETS_LOG, log);
  }
  put_u32_field(m, r, "limit", TCA_FQ_PLIMIT, 1);
  put_u32_field(m, r, "flowLimit", TCA_FQ_FLOW_PLIMIT, 1);
  put_u32_field(m, r, "quantum", TCA_FQ_QUANTUM, 1);
  put_u32_field(m, r, "initialQuantum", TCA_FQ_INITIAL_QUANTUM);
  put_flag_field(m, r, "pacing", TCA_FQ_RATE_ENABLE);
  put_rate(m, r, "maxrate", TCA_FQ_FLOW_MAX_RATE);
  put_rate(m, r, "lowRateThreshold", TCA_FQ_LOW_RATE_THRESHOLD);
  put_u32_field(m, r, "refillDelayUs", TCA_FQ_FLOW_REFILL_DELAY);
  put_u32_field(m, r, "orphanMask", TCA_FQ_ORPHAN_MASK);
  put_u32_field(m, r, "ceThresholdUs", TCA_FQ_CE_THRESHOLD);
  put_u32_field(m, r, "timerSlackNs", TCA_FQ_TIMER_SLACK);
  put_u32_field(m, r, "horizonUs", TCA_FQ_HORIZON);
  if (auto drop = r.boolean("horizonDrop")) m.put_u8(TCA_FQ_HORIZON_DROP, *drop ? 1 : 0);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_FQ_MAX + 1];
  parse_nested(options, tb, TCA_FQ_MAX);
  auto rate = [&](const char* field, int type) {
    if (!tb[type] || mnl_attr_get_payload_len(tb[type]) < 4) return;
    uint32_t bytes = attr_u32(tb[type]);
    if (bytes != ~0U) w.set_u64(field, static_cast<uint64_t>(bytes) * 8);  // ~0: no limit
  };
  get_uint_field(tb, TCA_FQ_PLIMIT, 4, w, "limit");
  get_uint_field(tb, TCA_FQ_FLOW_PLIMIT, 4, w, "flowLimit");
  get_uint_field(tb, TCA_FQ_QUANTUM, 4, w, "quantum");
  get_uint_field(tb, TCA_FQ_INITIAL_QUANTUM, 4, w, "initialQuantum");
  get_flag_field(tb, TCA_FQ_RATE_ENABLE, w, "pacing");
  rate("maxrate", TCA_FQ_FLOW_MAX_RATE);
  rate("lowRateThreshold", TCA_FQ_LOW_RATE_THRESHOLD);
  if (tb[TCA_FQ_BUCKETS_LOG] && mnl_attr_get_payload_len(tb[TCA_FQ_BUCKETS_LOG]) >= 4) {
    uint32_t log = attr_u32(tb[TCA_FQ_BUCKETS_LOG]);
    if (log < 32) w.set_u64("buckets", 1ull << log);
  }
  get_uint_field(tb, TCA_FQ_FLOW_REFILL_DELAY, 4, w, "refillDelayUs");
  get_uint_field(tb, TCA_FQ_ORPHAN_MASK, 4, w, "orphanMask");
  // ~0 is "none" for the CE threshold.
  if (tb[TCA_FQ_CE_THRESHOLD] && mnl_attr_get_payload_len(tb[TCA_FQ_CE_THRESHOLD]) >= 4 &&
      attr_u32(tb[TCA_FQ_CE_THRESHOLD]) != ~0U)
    w.set_u64("ceThresholdUs", attr_u32(tb[TCA_FQ_CE_THRESHOLD]));
  get_uint_field(tb, TCA_FQ_TIMER_SLACK, 4, w, "timerSlackNs");
  get_uint_field(tb, TCA_FQ_HORIZON, 4, w, "horizonUs");
  if (tb[TCA_FQ_HORIZON_DROP] && mnl_attr_get_payload_len(tb[TCA_FQ_HORIZON_DROP]) >= 1)
    w.set_bool("horizonDrop", attr_u8(tb[TCA_FQ_HORIZON_DROP]) != 0);
}

void xstats(const nlattr* app, FieldWriter& w) {
  // The struct grows with kernels; the fields read here are in every one since 5.7.
  if (mnl_attr_get_payload_len(app) < sizeof(tc_fq_qd_stats)) return;
  tc_fq_qd_stats x;
  std::memcpy(&x, mnl_attr_get_payload(app), sizeof x);
  w.set_u64("gcFlows", x.gc_flows);
  w.set_u64("highprioPackets", x.highprio_packets);
  w.set_u64("tcpRetrans", x.tcp_retrans);
  w.set_u64("throttled", x.throttled);
  w.set_u64("flowsPlimit", x.flows_plimit);
  w.set_u64("pktsTooLong", x.pkts_too_long);
  w.set_u64("allocationErrors", x.allocation_errors);
  w.set_i64("timeNextDelayedFlowNs", x.time_next_delayed_flow);
  w.set_u64("flows", x.flows);
  w.set_u64("inactiveFlows", x.inactive_flows);
  w.set_u64("throttledFlows", x.throttled_flows);
  w.set_u64("unthrottleLatencyNs", x.unthrottle_latency_ns);
  w.set_u64("ceMark", x.ce_mark);
  w.set_u64("horizonDrops", x.horizon_drops);
  w.set_u64("horizonCaps", x.horizon_caps);
}

}  // namespace

extern const QdiscKind fq_qdisc = {"fq", 0, 0, encode, decode, xstats};

}  // namespace netqos
