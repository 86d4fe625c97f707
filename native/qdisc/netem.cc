// netem: network emulation: delay with jitter, correlation and a distribution, loss (random,
// 4-state or Gilbert-Elliott), duplication, corruption, reordering, a rate and slots. As
// iproute2's q_netem.c: the options are the tc_netem_qopt struct followed by attributes, in its
// order. Percentages are numbers 0..100 (the kernel keeps them as fractions of 2^32 - 1),
// times microseconds. The named distribution tables are computed as iproute2's generators
// (netem/normal.c, pareto.c, paretonormal.c) compute the files tc reads.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#include "registry.h"

namespace netqos {

namespace {

constexpr int kTableSize = 16384;  // the generators' table, of which every fourth entry is kept
constexpr int kMaxDist = 65536;    // the largest table tc sends (its MAX_DIST)

std::vector<int16_t> clamp_table(const std::vector<int>& values) {
  std::vector<int16_t> out;
  out.reserve(values.size());
  for (int v : values)
    out.push_back(static_cast<int16_t>(v < SHRT_MIN ? SHRT_MIN : v > SHRT_MAX ? SHRT_MAX : v));
  return out;
}

// normal.c: the inverse of the normal CDF, sampled.
std::vector<int> normal_values() {
  std::vector<double> table(kTableSize + 1, 0.0);
  for (double x = -10.0; x < 10.05; x += .00005) {
    int i = static_cast<int>(std::rint(kTableSize * (.5 + .5 * std::erf(x / std::sqrt(2.0)))));
    table[i] = x;
  }
  std::vector<int> out;
  for (int i = 0; i < kTableSize; i += 4)
    out.push_back(static_cast<int>(std::rint(table[i] * NETEM_DIST_SCALE)));
  return out;
}

// pareto.c's value for step i (a = 3).
double pareto_value(int i) {
  double d = static_cast<double>(i) / 65536.0;
  d = 1.0 / std::pow(d, 1.0 / 3.0);
  d -= 1.5;
  d *= (4.0 / 3.0) * static_cast<double>(NETEM_DIST_SCALE);
  return d > 32767 ? 32767 : d;
}

const std::vector<int16_t>& named_table(const std::string& name) {
  static const std::vector<int16_t> normal = clamp_table(normal_values());
  static const std::vector<int16_t> pareto = [] {
    std::vector<int> v;
    for (int i = 65536; i > 0; i -= 16) v.push_back(static_cast<int>(std::rint(pareto_value(i))));
    return clamp_table(v);
  }();
  static const std::vector<int16_t> paretonormal = [] {
    std::vector<int> norm = normal_values(), v;
    for (int i = 0; i < kTableSize; i += 4) {
      int par = static_cast<int>(std::rint(pareto_value(65536 - 4 * i)));
      v.push_back((norm[i / 4] + 3 * par) / 4);
    }
    return clamp_table(v);
  }();
  static const std::vector<int16_t> none;
  return name == "normal" ? normal : name == "pareto" ? pareto : name == "paretonormal" ? paretonormal : none;
}

// A distribution: a table's name or its values (NETEM_DIST_SCALE per standard deviation).
std::vector<int16_t> read_distribution(const FieldReader& r, const char* field) {
  if (auto name = r.string(field)) {
    const auto& table = named_table(*name);
    if (table.empty())
      r.fail(field, quote(*name) +
                        " is not a table netqos has (allowed: normal, pareto, paretonormal, or the values)");
    return table;
  }
  auto values = r.integers_in(field, SHRT_MIN, SHRT_MAX, kMaxDist);
  if (r.has(field) && values.empty()) r.fail(field, "is empty");
  return std::vector<int16_t>(values.begin(), values.end());
}

// A percentage 0..100 as the kernel's fraction of 2^32 - 1 (tc's set_percent).
uint32_t percent(const FieldReader& r, const char* field, double fallback = 0) {
  auto p = r.number(field);
  if (!p) return static_cast<uint32_t>(std::rint(fallback / 100 * UINT32_MAX));
  if (*p < 0 || *p > 100) r.fail(field, describe_number(*p) + " is not a percentage (0..100)");
  return static_cast<uint32_t>(std::rint(*p / 100 * UINT32_MAX));
}

// The kernel's fraction back as a percentage, to a millionth of a percent (finer is noise).
double percent_of(uint32_t v) { return std::round(static_cast<double>(v) / UINT32_MAX * 100 * 1e6) / 1e6; }

// Microseconds as psched ticks (tc's get_ticks), refusing what 32 bits cannot hold.
uint32_t ticks(const FieldReader& r, const char* field) {
  uint64_t us = r.u64_in(field, 0, 0xFFFFFFFFu, 0);
  double t = static_cast<double>(us) * tick_in_usec();
  if (t >= 4294967296.0)
    r.fail(field, std::to_string(us) + " us is too long (the kernel keeps at most about 274 s)");
  return static_cast<uint32_t>(t);
}

// Microseconds as the nanoseconds of tc's get_time64.
int64_t ns(const FieldReader& r, const char* field) {
  return static_cast<int64_t>(r.u64_in(field, 0, INT64_MAX / 1000, 0) * 1000);
}

void encode_loss(Message& m, const FieldReader& loss) {
  std::string model = loss.string("model").value_or("random");
  if (model == "random") return;  // in the qopt and CORR
  nlattr* nest = m.nest_start(TCA_NETEM_LOSS | NLA_F_NESTED);
  if (model == "state") {
    if (!loss.has("p13")) loss.fail("p13", "is required (percent)");
    double p13 = loss.number("p13").value_or(0);
    tc_netem_gimodel gi{};
    gi.p13 = percent(loss, "p13");
    gi.p31 = percent(loss, "p31", 100 - p13);
    gi.p32 = percent(loss, "p32", 0);
    gi.p23 = percent(loss, "p23", 100);
    gi.p14 = percent(loss, "p14", 0);
    m.put(NETEM_LOSS_GI, &gi, sizeof gi);
  } else if (model == "gemodel") {
    if (!loss.has("p")) loss.fail("p", "is required (percent)");
    tc_netem_gemodel ge{};
    ge.p = percent(loss, "p");
    ge.r = percent(loss, "r", 100 - loss.number("p").value_or(0));
    // tc takes 1-h and 1-k, as netem's documentation states the model; the kernel keeps h and
    // 1-k.
    ge.h = UINT32_MAX - percent(loss, "oneMinusH", 100);
    ge.k1 = percent(loss, "oneMinusK", 0);
    m.put(NETEM_LOSS_GE, &ge, sizeof ge);
  } else {
    loss.fail("model", quote(model) + " is not a loss model (allowed: random, state, gemodel)");
  }
  m.nest_end(nest);
}

void encode(Message& m, const FieldReader& r) {
  tc_netem_qopt opt{};
  opt.limit = static_cast<uint32_t>(r.u64_in("limit", 0, 0xFFFFFFFFu, 1000));
  opt.latency = ticks(r, "delayUs");
  opt.jitter = ticks(r, "jitterUs");
  if (opt.jitter && !r.has("delayUs")) r.fail("jitterUs", "needs delayUs");
  auto loss = r.object("loss");
  bool random_loss = loss && loss->string("model").value_or("random") == "random";
  if (random_loss) {
    if (!loss->has("percent")) loss->fail("percent", "is required (the share of packets lost, 0..100)");
    opt.loss = percent(*loss, "percent");
  }
  opt.duplicate = percent(r, "duplicate");
  bool reorder = r.has("reorder");
  opt.gap = static_cast<uint32_t>(r.u64_in("gap", 1, 0xFFFFFFFFu, reorder ? 1 : 0));
  if (reorder && !opt.latency)
    r.fail("reorder", "needs delayUs (reordered packets go ahead of delayed ones)");
  if (r.has("gap") && !reorder) r.fail("gap", "needs reorder");
  bool ecn = r.boolean("ecn").value_or(false);
  if (ecn && !loss) r.fail("ecn", "needs loss (ECN marks what loss would drop)");
  auto dist = read_distribution(r, "distribution");
  if (!dist.empty() && (!opt.latency || !opt.jitter)) r.fail("distribution", "needs delayUs and jitterUs");

  nlattr* options = m.nest_start(TCA_OPTIONS);
  m.put_raw(&opt, sizeof opt);
  bool corr = r.has("delayCorrelation") || (random_loss && loss->has("correlation")) ||
              r.has("duplicateCorrelation") || r.has("reorderCorrelation") || r.has("corruptCorrelation");
  if (corr) {
    if (r.has("delayCorrelation") && !opt.jitter) r.fail("delayCorrelation", "needs jitterUs");
    tc_netem_corr c{percent(r, "delayCorrelation"), random_loss ? percent(*loss, "correlation") : 0,
                    percent(r, "duplicateCorrelation")};
    m.put(TCA_NETEM_CORR, &c, sizeof c);
  }
  if (reorder) {
    tc_netem_reorder re{percent(r, "reorder"), percent(r, "reorderCorrelation")};
    m.put(TCA_NETEM_REORDER, &re, sizeof re);
  }
  if (ecn) m.put_u32(TCA_NETEM_ECN, 1);
  if (r.has("corrupt")) {
    tc_netem_corrupt co{percent(r, "corrupt"), percent(r, "corruptCorrelation")};
    m.put(TCA_NETEM_CORRUPT, &co, sizeof co);
  }
  std::vector<int16_t> slot_dist;
  if (auto s = r.object("slot")) {
    tc_netem_slot slot{};
    slot_dist = read_distribution(*s, "distribution");
    if (!slot_dist.empty()) {
      slot.dist_delay = ns(*s, "delayUs");
      slot.dist_jitter = ns(*s, "jitterUs");
      if (slot.dist_jitter <= 0) s->fail("jitterUs", "is required with a distribution (above 0)");
    } else {
      if (!s->has("minDelayUs"))
        s->fail("minDelayUs", "is required (or a distribution with delayUs and jitterUs)");
      slot.min_delay = ns(*s, "minDelayUs");
      slot.max_delay = s->has("maxDelayUs") ? ns(*s, "maxDelayUs") : slot.min_delay;
      if (slot.max_delay < slot.min_delay) s->fail("maxDelayUs", "must be at least minDelayUs");
    }
    slot.max_packets = static_cast<int32_t>(s->u64_in("packets", 1, INT32_MAX, 0));
    slot.max_bytes = static_cast<int32_t>(s->u64_in("bytes", 1, INT32_MAX, 0));
    m.put(TCA_NETEM_SLOT, &slot, sizeof slot);
  }
  if (loss && !random_loss) encode_loss(m, *loss);
  if (r.has("rate")) {
    uint64_t rate = read_rate_bytes(r, "rate", true);
    tc_netem_rate nr{};
    nr.rate = rate >= (1ull << 32) ? ~0U : static_cast<uint32_t>(rate);
    auto overhead = r.i64("packetOverhead").value_or(0), cell_overhead = r.i64("cellOverhead").value_or(0);
    if (overhead < INT32_MIN || overhead > INT32_MAX) r.fail("packetOverhead", "is out of range");
    if (cell_overhead < INT32_MIN || cell_overhead > INT32_MAX) r.fail("cellOverhead", "is out of range");
    nr.packet_overhead = static_cast<int32_t>(overhead);
    nr.cell_size = static_cast<uint32_t>(r.u64_in("cellSize", 0, 0xFFFFFFFFu, 0));
    nr.cell_overhead = static_cast<int32_t>(cell_overhead);
    if (rate >= (1ull << 32)) m.put_u64(TCA_NETEM_RATE64, rate);
    m.put(TCA_NETEM_RATE, &nr, sizeof nr);
  }
  if (!dist.empty()) m.put(TCA_NETEM_DELAY_DIST, dist.data(), dist.size() * sizeof(int16_t));
  if (!slot_dist.empty()) m.put(TCA_NETEM_SLOT_DIST, slot_dist.data(), slot_dist.size() * sizeof(int16_t));
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options || mnl_attr_get_payload_len(options) < sizeof(tc_netem_qopt)) return;
  tc_netem_qopt opt;
  std::memcpy(&opt, mnl_attr_get_payload(options), sizeof opt);
  const nlattr* tb[TCA_NETEM_MAX + 1];
  size_t head = NLA_ALIGN(sizeof opt);
  parse_payload(static_cast<const uint8_t*>(mnl_attr_get_payload(options)) + head,
                mnl_attr_get_payload_len(options) - head, tb, TCA_NETEM_MAX);
  auto has = [&](int type, size_t len) { return tb[type] && mnl_attr_get_payload_len(tb[type]) >= len; };
  auto from_ticks = [](uint32_t t) { return static_cast<uint64_t>(std::llround(t / tick_in_usec())); };
  w.set_u64("limit", opt.limit);
  // The nanosecond attributes when the kernel has them (the ticks cap at about 274 s).
  uint64_t delay = has(TCA_NETEM_LATENCY64, 8)
                       ? static_cast<uint64_t>(attr_u64(tb[TCA_NETEM_LATENCY64])) / 1000
                       : from_ticks(opt.latency);
  uint64_t jitter = has(TCA_NETEM_JITTER64, 8)
                        ? static_cast<uint64_t>(attr_u64(tb[TCA_NETEM_JITTER64])) / 1000
                        : from_ticks(opt.jitter);
  if (delay) w.set_u64("delayUs", delay);
  if (jitter) w.set_u64("jitterUs", jitter);
  tc_netem_corr corr{};
  if (has(TCA_NETEM_CORR, sizeof corr))
    std::memcpy(&corr, mnl_attr_get_payload(tb[TCA_NETEM_CORR]), sizeof corr);
  if (corr.delay_corr) w.set_number("delayCorrelation", percent_of(corr.delay_corr));
  if (opt.loss) {
    auto l = w.object("loss");
    l->set_number("percent", percent_of(opt.loss));
    if (corr.loss_corr) l->set_number("correlation", percent_of(corr.loss_corr));
  } else if (tb[TCA_NETEM_LOSS]) {
    const nlattr* lt[NETEM_LOSS_MAX + 1];
    parse_nested(tb[TCA_NETEM_LOSS], lt, NETEM_LOSS_MAX);
    if (lt[NETEM_LOSS_GI] && mnl_attr_get_payload_len(lt[NETEM_LOSS_GI]) >= sizeof(tc_netem_gimodel)) {
      tc_netem_gimodel gi;
      std::memcpy(&gi, mnl_attr_get_payload(lt[NETEM_LOSS_GI]), sizeof gi);
      auto l = w.object("loss");
      l->set_string("model", "state");
      l->set_number("p13", percent_of(gi.p13));
      l->set_number("p31", percent_of(gi.p31));
      l->set_number("p32", percent_of(gi.p32));
      l->set_number("p23", percent_of(gi.p23));
      l->set_number("p14", percent_of(gi.p14));
    } else if (lt[NETEM_LOSS_GE] && mnl_attr_get_payload_len(lt[NETEM_LOSS_GE]) >= sizeof(tc_netem_gemodel)) {
      tc_netem_gemodel ge;
      std::memcpy(&ge, mnl_attr_get_payload(lt[NETEM_LOSS_GE]), sizeof ge);
      auto l = w.object("loss");
      l->set_string("model", "gemodel");
      l->set_number("p", percent_of(ge.p));
      l->set_number("r", percent_of(ge.r));
      l->set_number("oneMinusH", percent_of(UINT32_MAX - ge.h));
      l->set_number("oneMinusK", percent_of(ge.k1));
    }
  }
  if (opt.duplicate) w.set_number("duplicate", percent_of(opt.duplicate));
  if (corr.dup_corr) w.set_number("duplicateCorrelation", percent_of(corr.dup_corr));
  tc_netem_reorder reorder{};
  if (has(TCA_NETEM_REORDER, sizeof reorder))
    std::memcpy(&reorder, mnl_attr_get_payload(tb[TCA_NETEM_REORDER]), sizeof reorder);
  if (reorder.probability) {
    w.set_number("reorder", percent_of(reorder.probability));
    if (reorder.correlation) w.set_number("reorderCorrelation", percent_of(reorder.correlation));
    w.set_u64("gap", opt.gap);
  }
  tc_netem_corrupt corrupt{};
  if (has(TCA_NETEM_CORRUPT, sizeof corrupt))
    std::memcpy(&corrupt, mnl_attr_get_payload(tb[TCA_NETEM_CORRUPT]), sizeof corrupt);
  if (corrupt.probability) {
    w.set_number("corrupt", percent_of(corrupt.probability));
    if (corrupt.correlation) w.set_number("corruptCorrelation", percent_of(corrupt.correlation));
  }
  if (has(TCA_NETEM_ECN, 4) && attr_u32(tb[TCA_NETEM_ECN])) w.set_bool("ecn", true);
  tc_netem_rate rate{};
  if (has(TCA_NETEM_RATE, sizeof rate))
    std::memcpy(&rate, mnl_attr_get_payload(tb[TCA_NETEM_RATE]), sizeof rate);
  uint64_t rate_bytes = has(TCA_NETEM_RATE64, 8) ? attr_u64(tb[TCA_NETEM_RATE64]) : rate.rate;
  if (rate_bytes) {
    w.set_u64("rate", rate_bytes * 8);
    if (rate.packet_overhead) w.set_i64("packetOverhead", rate.packet_overhead);
    if (rate.cell_size) w.set_u64("cellSize", rate.cell_size);
    if (rate.cell_overhead) w.set_i64("cellOverhead", rate.cell_overhead);
  }
  if (has(TCA_NETEM_SLOT, sizeof(tc_netem_slot))) {
    tc_netem_slot slot;
    std::memcpy(&slot, mnl_attr_get_payload(tb[TCA_NETEM_SLOT]), sizeof slot);
    auto s = w.object("slot");
    if (slot.dist_jitter > 0) {
      // The table itself is not reported back.
      s->set_u64("delayUs", static_cast<uint64_t>(slot.dist_delay) / 1000);
      s->set_u64("jitterUs", static_cast<uint64_t>(slot.dist_jitter) / 1000);
    } else {
      s->set_u64("minDelayUs", static_cast<uint64_t>(slot.min_delay) / 1000);
      s->set_u64("maxDelayUs", static_cast<uint64_t>(slot.max_delay) / 1000);
    }
    if (slot.max_packets > 0 && slot.max_packets != INT32_MAX)
      s->set_u64("packets", static_cast<uint32_t>(slot.max_packets));
    if (slot.max_bytes > 0 && slot.max_bytes != INT32_MAX)
      s->set_u64("bytes", static_cast<uint32_t>(slot.max_bytes));
  }
}

}  // namespace

extern const QdiscKind netem_qdisc = {"netem", 0, 0, encode, decode, nullptr};

}  // namespace netqos
