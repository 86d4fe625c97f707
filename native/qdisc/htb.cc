// htb: hierarchical token bucket. The qdisc (default class, r2q, direct queue) and its classes
// (rate and ceil with their bursts, priority, quantum), computed and emitted as iproute2's
// q_htb.c does. The classes' rate tables are left out: the kernel ignores them when the rate
// spec names a link layer, as ours always does.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

constexpr uint64_t k32 = 1ULL << 32;
// tc's assumed packet size for the rate tables and the default bursts.
constexpr uint32_t kDefaultMtu = 1600;

void encode_qdisc(Message& m, const FieldReader& r) {
  tc_htb_glob opt{};
  opt.version = 3;
  opt.rate2quantum = static_cast<uint32_t>(r.u64_in("r2q", 1, 0xFFFFFFFFu, 10));
  opt.defcls = static_cast<uint32_t>(r.u64_in("defaultClass", 0, 0xFFFF, 0));
  nlattr* options = m.nest_start(TCA_OPTIONS);
  m.put(TCA_HTB_INIT, &opt, sizeof opt);
  if (r.has("directQlen"))
    m.put_u32(TCA_HTB_DIRECT_QLEN, static_cast<uint32_t>(r.u64_in("directQlen", 0, 0xFFFFFFFFu, 0)));
  m.nest_end(options);
}

void decode_qdisc(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_HTB_MAX + 1];
  parse_nested(options, tb, TCA_HTB_MAX);
  if (tb[TCA_HTB_INIT] && mnl_attr_get_payload_len(tb[TCA_HTB_INIT]) >= sizeof(tc_htb_glob)) {
    tc_htb_glob opt;
    std::memcpy(&opt, mnl_attr_get_payload(tb[TCA_HTB_INIT]), sizeof opt);
    w.set_u64("r2q", opt.rate2quantum);
    w.set_u64("defaultClass", opt.defcls);
  }
  if (tb[TCA_HTB_DIRECT_QLEN] && mnl_attr_get_payload_len(tb[TCA_HTB_DIRECT_QLEN]) >= 4)
    w.set_u64("directQlen", attr_u32(tb[TCA_HTB_DIRECT_QLEN]));
}

// The bucket of `rate` as ticks, refusing what the kernel's 32-bit ticks cannot hold.
uint32_t bucket_ticks(const FieldReader& r, const char* field, uint64_t rate, uint64_t bytes) {
  if (xmittime_exact(rate, bytes) >= static_cast<double>(kMaxTicks))
    r.fail(field, std::to_string(bytes) +
                      " bytes take too long to send at this rate (the kernel keeps it as "
                      "32-bit 64 ns ticks, at most about 274 s)");
  return xmittime(rate, bytes);
}

void encode_class(Message& m, const FieldReader& r) {
  uint64_t rate = read_rate_bytes(r, "rate", true);
  uint64_t ceil = read_rate_bytes(r, "ceil", false);
  if (!ceil) ceil = rate;
  if (ceil < rate) r.fail("ceil", "must be at least rate");
  auto mtu = static_cast<uint32_t>(r.u64_in("mtu", 1, 0xFFFFFFFFu, kDefaultMtu));
  auto mpu = static_cast<uint16_t>(r.u64_in("mpu", 0, 0xFFFF, 0));
  auto overhead = static_cast<uint16_t>(r.u64_in("overhead", 0, 0xFFFF, 0));
  // tc's minimum buffer: what arrives in one clock tick, plus a packet.
  uint64_t burst = r.u64_in("burst", 1, 0xFFFFFFFFu, rate / psched_hz() + mtu);
  uint64_t cburst = r.u64_in("cburst", 1, 0xFFFFFFFFu, ceil / psched_hz() + mtu);

  tc_htb_opt opt{};
  opt.prio = static_cast<uint32_t>(r.u64_in("prio", 0, TC_HTB_NUMPRIO - 1, 0));
  opt.quantum = static_cast<uint32_t>(r.u64_in("quantum", 1, 0xFFFFFFFFu, 0));
  fill_ratespec(opt.rate, rate, mtu, mpu);
  fill_ratespec(opt.ceil, ceil, mtu, mpu);
  opt.rate.overhead = opt.ceil.overhead = overhead;
  opt.buffer = bucket_ticks(r, "burst", rate, burst);
  opt.cbuffer = bucket_ticks(r, "cburst", ceil, cburst);

  nlattr* options = m.nest_start(TCA_OPTIONS);
  if (rate >= k32) m.put_u64(TCA_HTB_RATE64, rate);
  if (ceil >= k32) m.put_u64(TCA_HTB_CEIL64, ceil);
  m.put(TCA_HTB_PARMS, &opt, sizeof opt);
  m.nest_end(options);
}

void decode_class(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_HTB_MAX + 1];
  parse_nested(options, tb, TCA_HTB_MAX);
  if (!tb[TCA_HTB_PARMS] || mnl_attr_get_payload_len(tb[TCA_HTB_PARMS]) < sizeof(tc_htb_opt)) return;
  tc_htb_opt opt;
  std::memcpy(&opt, mnl_attr_get_payload(tb[TCA_HTB_PARMS]), sizeof opt);
  auto u64_attr = [&](int type, uint64_t fallback) {
    const nlattr* a = tb[type];
    return a && mnl_attr_get_payload_len(a) >= sizeof(uint64_t) ? attr_u64(a) : fallback;
  };
  uint64_t rate = u64_attr(TCA_HTB_RATE64, opt.rate.rate);
  uint64_t ceil = u64_attr(TCA_HTB_CEIL64, opt.ceil.rate);
  w.set_u64("rate", rate * 8);
  w.set_u64("ceil", ceil * 8);
  w.set_u64("burst", bytes_for_ticks(rate, opt.buffer));
  w.set_u64("cburst", bytes_for_ticks(ceil, opt.cbuffer));
  w.set_u64("prio", opt.prio);
  // Leaves only: inner classes do not queue, and the kernel reports no quantum for them.
  if (opt.quantum) w.set_u64("quantum", opt.quantum);
  if (opt.rate.mpu) w.set_u64("mpu", opt.rate.mpu);
  if (opt.rate.overhead) w.set_u64("overhead", opt.rate.overhead);
}

// tc_htb_xstats: what a class lent and borrowed, and its buckets now (ticks, may be negative).
void xstats_class(const nlattr* app, FieldWriter& w) {
  if (mnl_attr_get_payload_len(app) < sizeof(tc_htb_xstats)) return;
  tc_htb_xstats x;
  std::memcpy(&x, mnl_attr_get_payload(app), sizeof x);
  w.set_u64("lends", x.lends);
  w.set_u64("borrows", x.borrows);
  w.set_u64("giants", x.giants);
  w.set_i64("tokens", x.tokens);
  w.set_i64("ctokens", x.ctokens);
}

}  // namespace

extern const QdiscKind htb_qdisc = {"htb", 0, 0, encode_qdisc, decode_qdisc, nullptr};
extern const ClassKind htb_class = {"htb", encode_class, decode_class, xstats_class};

}  // namespace netqos
