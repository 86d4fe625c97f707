// cake: shaper, flow isolation and AQM in one (iproute2's q_cake.c: the attributes given, in its
// order). Rates in bit/s, times in microseconds. Its extended statistics are nested: capacity,
// memory, packet sizes, and one entry per tin.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

const NamedValue kDiffserv[] = {{"diffserv3", CAKE_DIFFSERV_DIFFSERV3},
                                {"diffserv4", CAKE_DIFFSERV_DIFFSERV4},
                                {"diffserv8", CAKE_DIFFSERV_DIFFSERV8},
                                {"besteffort", CAKE_DIFFSERV_BESTEFFORT},
                                {"precedence", CAKE_DIFFSERV_PRECEDENCE}};
const NamedValue kFlowModes[] = {{"flowblind", CAKE_FLOW_NONE},        {"srchost", CAKE_FLOW_SRC_IP},
                                 {"dsthost", CAKE_FLOW_DST_IP},        {"hosts", CAKE_FLOW_HOSTS},
                                 {"flows", CAKE_FLOW_FLOWS},           {"dual-srchost", CAKE_FLOW_DUAL_SRC},
                                 {"dual-dsthost", CAKE_FLOW_DUAL_DST}, {"triple-isolate", CAKE_FLOW_TRIPLE}};
const NamedValue kAtm[] = {{"none", CAKE_ATM_NONE}, {"atm", CAKE_ATM_ATM}, {"ptm", CAKE_ATM_PTM}};
const NamedValue kAckFilter[] = {
    {"none", CAKE_ACK_NONE}, {"filter", CAKE_ACK_FILTER}, {"aggressive", CAKE_ACK_AGGRESSIVE}};

// A named option as its u32 attribute, when given (or, with `or_none`, its value 0 when not).
template <size_t N>
void put_name(Message& m, const FieldReader& r, const char* field, uint16_t type,
              const NamedValue (&names)[N], bool or_none = false) {
  if (r.has(field) || or_none) m.put_u32(type, read_named(r, field, names, 0));
}

template <size_t N>
void get_name(const nlattr* const* tb, int type, const NamedValue (&names)[N], FieldWriter& w,
              const char* field) {
  if (!tb[type] || mnl_attr_get_payload_len(tb[type]) < 4) return;
  uint32_t v = attr_u32(tb[type]);
  if (const char* name = name_of(names, v))
    w.set_string(field, name);
  else
    w.set_u64(field, v);
}

void encode(Message& m, const FieldReader& r) {
  bool raw = r.boolean("raw").value_or(false);
  nlattr* options = m.nest_start(TCA_OPTIONS);
  if (r.has("bandwidth")) {
    // 0: unlimited, as tc's "unlimited".
    auto bits = r.u64("bandwidth");
    if (bits && *bits && *bits < 8) r.fail("bandwidth", "is too low (at least 8 bit/s, or 0 for unlimited)");
    m.put_u64(TCA_CAKE_BASE_RATE64, bits.value_or(0) / 8);
  }
  put_name(m, r, "diffserv", TCA_CAKE_DIFFSERV_MODE, kDiffserv);
  // "raw" is tc's: no ATM framing and no overhead unless given.
  put_name(m, r, "atm", TCA_CAKE_ATM, kAtm, raw);  // 0 is "none"
  put_name(m, r, "flowMode", TCA_CAKE_FLOW_MODE, kFlowModes);
  if (r.has("overhead") || raw) {
    auto overhead = r.i64("overhead").value_or(0);
    if (overhead < -64 || overhead > 256)
      r.fail("overhead", std::to_string(overhead) + " is out of range (-64..256)");
    m.put_u32(TCA_CAKE_OVERHEAD, static_cast<uint32_t>(static_cast<int32_t>(overhead)));
  }
  if (raw) m.put_u32(TCA_CAKE_RAW, 0);
  if (uint64_t mpu = r.u64_in("mpu", 0, 256, 0)) m.put_u32(TCA_CAKE_MPU, static_cast<uint32_t>(mpu));
  uint64_t rtt = r.u64_in("rttUs", 1, 0xFFFFFFFFu, 0);
  if (rtt) m.put_u32(TCA_CAKE_RTT, static_cast<uint32_t>(rtt));
  // tc's "rtt" also sets the target to a twentieth of it.
  uint64_t target = r.u64_in("targetUs", 1, 0xFFFFFFFFu, rtt ? std::max<uint64_t>(rtt / 20, 1) : 0);
  if (target) m.put_u32(TCA_CAKE_TARGET, static_cast<uint32_t>(target));
  // A bandwidth turns autorate off, as tc's "bandwidth" does.
  if (auto autorate = r.boolean("autorateIngress"))
    m.put_u32(TCA_CAKE_AUTORATE, *autorate ? 1 : 0);
  else if (r.has("bandwidth"))
    m.put_u32(TCA_CAKE_AUTORATE, 0);
  if (uint64_t mem = r.u64_in("memlimit", 0, 0xFFFFFFFFu, 0))
    m.put_u32(TCA_CAKE_MEMORY, static_cast<uint32_t>(mem));
  if (uint64_t mark = r.u64_in("fwmark", 0, 0xFFFFFFFFu, 0))
    m.put_u32(TCA_CAKE_FWMARK, static_cast<uint32_t>(mark));
  put_flag_field(m, r, "nat", TCA_CAKE_NAT);
  put_flag_field(m, r, "wash", TCA_CAKE_WASH);
  put_flag_field(m, r, "splitGso", TCA_CAKE_SPLIT_GSO);
  put_flag_field(m, r, "ingress", TCA_CAKE_INGRESS);
  put_name(m, r, "ackFilter", TCA_CAKE_ACK_FILTER, kAckFilter);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_CAKE_MAX + 1];
  parse_nested(options, tb, TCA_CAKE_MAX);
  if (tb[TCA_CAKE_BASE_RATE64] && mnl_attr_get_payload_len(tb[TCA_CAKE_BASE_RATE64]) >= 8)
    w.set_u64("bandwidth", attr_u64(tb[TCA_CAKE_BASE_RATE64]) * 8);
  get_name(tb, TCA_CAKE_DIFFSERV_MODE, kDiffserv, w, "diffserv");
  get_name(tb, TCA_CAKE_ATM, kAtm, w, "atm");
  get_name(tb, TCA_CAKE_FLOW_MODE, kFlowModes, w, "flowMode");
  get_s32_field(tb, TCA_CAKE_OVERHEAD, w, "overhead");
  if (tb[TCA_CAKE_RAW]) w.set_bool("raw", true);
  get_uint_field(tb, TCA_CAKE_MPU, 4, w, "mpu");
  get_uint_field(tb, TCA_CAKE_RTT, 4, w, "rttUs");
  get_uint_field(tb, TCA_CAKE_TARGET, 4, w, "targetUs");
  get_flag_field(tb, TCA_CAKE_AUTORATE, w, "autorateIngress");
  get_uint_field(tb, TCA_CAKE_MEMORY, 4, w, "memlimit");
  get_uint_field(tb, TCA_CAKE_FWMARK, 4, w, "fwmark");
  get_flag_field(tb, TCA_CAKE_NAT, w, "nat");
  get_flag_field(tb, TCA_CAKE_WASH, w, "wash");
  get_flag_field(tb, TCA_CAKE_SPLIT_GSO, w, "splitGso");
  get_flag_field(tb, TCA_CAKE_INGRESS, w, "ingress");
  get_name(tb, TCA_CAKE_ACK_FILTER, kAckFilter, w, "ackFilter");
}

struct Stat {
  int type;
  size_t bytes;
  const char* field;
};
// The qdisc's statistics and a class's (one flow queue).
const Stat kStats[] = {{TCA_CAKE_STATS_CAPACITY_ESTIMATE64, 8, "capacityEstimate"},
                       {TCA_CAKE_STATS_MEMORY_LIMIT, 4, "memoryLimit"},
                       {TCA_CAKE_STATS_MEMORY_USED, 4, "memoryUsed"},
                       {TCA_CAKE_STATS_AVG_NETOFF, 4, "avgNetoff"},
                       {TCA_CAKE_STATS_MIN_NETLEN, 4, "minNetlen"},
                       {TCA_CAKE_STATS_MAX_NETLEN, 4, "maxNetlen"},
                       {TCA_CAKE_STATS_MIN_ADJLEN, 4, "minAdjlen"},
                       {TCA_CAKE_STATS_MAX_ADJLEN, 4, "maxAdjlen"},
                       {TCA_CAKE_STATS_COBALT_COUNT, 4, "cobaltCount"},
                       {TCA_CAKE_STATS_DROPPING, 4, "dropping"},
                       {TCA_CAKE_STATS_P_DROP, 4, "pDrop"}};
const Stat kTinStats[] = {{TCA_CAKE_TIN_STATS_THRESHOLD_RATE64, 8, "thresholdRate"},
                          {TCA_CAKE_TIN_STATS_TARGET_US, 4, "targetUs"},
                          {TCA_CAKE_TIN_STATS_INTERVAL_US, 4, "intervalUs"},
                          {TCA_CAKE_TIN_STATS_PEAK_DELAY_US, 4, "peakDelayUs"},
                          {TCA_CAKE_TIN_STATS_AVG_DELAY_US, 4, "avgDelayUs"},
                          {TCA_CAKE_TIN_STATS_BASE_DELAY_US, 4, "baseDelayUs"},
                          {TCA_CAKE_TIN_STATS_SENT_PACKETS, 4, "sentPackets"},
                          {TCA_CAKE_TIN_STATS_SENT_BYTES64, 8, "sentBytes"},
                          {TCA_CAKE_TIN_STATS_WAY_INDIRECT_HITS, 4, "wayIndirectHits"},
                          {TCA_CAKE_TIN_STATS_WAY_MISSES, 4, "wayMisses"},
                          {TCA_CAKE_TIN_STATS_WAY_COLLISIONS, 4, "wayCollisions"},
                          {TCA_CAKE_TIN_STATS_DROPPED_PACKETS, 4, "droppedPackets"},
                          {TCA_CAKE_TIN_STATS_ECN_MARKED_PACKETS, 4, "ecnMarkedPackets"},
                          {TCA_CAKE_TIN_STATS_ACKS_DROPPED_PACKETS, 4, "acksDroppedPackets"},
                          {TCA_CAKE_TIN_STATS_SPARSE_FLOWS, 4, "sparseFlows"},
                          {TCA_CAKE_TIN_STATS_BULK_FLOWS, 4, "bulkFlows"},
                          {TCA_CAKE_TIN_STATS_UNRESPONSIVE_FLOWS, 4, "unresponsiveFlows"},
                          {TCA_CAKE_TIN_STATS_MAX_SKBLEN, 4, "maxSkblen"},
                          {TCA_CAKE_TIN_STATS_FLOW_QUANTUM, 4, "flowQuantum"}};

void xstats(const nlattr* app, FieldWriter& w) {
  const nlattr* tb[TCA_CAKE_STATS_MAX + 1];
  parse_nested(app, tb, TCA_CAKE_STATS_MAX);
  for (const Stat& s : kStats) get_uint_field(tb, s.type, s.bytes, w, s.field);
  get_s32_field(tb, TCA_CAKE_STATS_DEFICIT, w, "deficit");
  get_s32_field(tb, TCA_CAKE_STATS_DROP_NEXT_US, w, "dropNextUs");
  get_s32_field(tb, TCA_CAKE_STATS_BLUE_TIMER_US, w, "blueTimerUs");
  if (!tb[TCA_CAKE_STATS_TIN_STATS]) return;
  for_each_nested(tb[TCA_CAKE_STATS_TIN_STATS], [&](const nlattr* tin) {
    const nlattr* tt[TCA_CAKE_TIN_STATS_MAX + 1];
    parse_nested(tin, tt, TCA_CAKE_TIN_STATS_MAX);
    auto t = w.append("tins");
    for (const Stat& s : kTinStats) get_uint_field(tt, s.type, s.bytes, *t, s.field);
  });
}

}  // namespace

extern const QdiscKind cake_qdisc = {"cake", 0, 0, encode, decode, xstats};

}  // namespace netqos
