// tbf: token bucket filter. Computes the same values iproute2's q_tbf.c does for the same
// parameters. The rate tables are left out: the kernel ignores them when the link layer is set.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cmath>
#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

constexpr uint64_t k32 = 1ULL << 32;

void encode(Message& m, const FieldReader& r) {
  uint64_t rate = read_rate_bytes(r, "rate", true);
  uint64_t burst = r.u64_in("burst", 1, 0xFFFFFFFFu, 0);
  // bufferTicks: the bucket as raw psched ticks, for callers that reproduce another tool's
  // numbers (Calico sends ticks and no TCA_TBF_BURST); it needs an explicit limit.
  auto buffer_ticks = r.u64("bufferTicks");
  if (buffer_ticks && burst) r.fail("give burst or bufferTicks, not both");
  if (!buffer_ticks && !burst) r.fail("burst", "is required (bytes, e.g. 32768)");
  if (buffer_ticks && (*buffer_ticks == 0 || *buffer_ticks > 0xFFFFFFFFu))
    r.fail("bufferTicks", std::to_string(*buffer_ticks) + " is out of range (1..4294967295)");
  if (buffer_ticks && !r.has("limit")) r.fail("limit", "is required with bufferTicks");
  uint64_t peak = read_rate_bytes(r, "peakrate", false);
  uint64_t mtu = r.u64_in("minburst", 1, 0xFFFFFFFFu, 0);
  if (peak && !mtu) r.fail("minburst", "is required with peakrate (bytes, at least the MTU, e.g. 1514)");
  if (!peak && mtu) r.fail("minburst", "needs peakrate");
  if (peak && peak <= rate) r.fail("peakrate", "must be greater than rate");
  auto mpu = static_cast<uint16_t>(r.u64_in("mpu", 0, 0xFFFF, 0));

  auto limit = r.u64("limit");
  auto latency = r.u64("latencyUs");
  if (limit && latency) r.fail("give limit or latencyUs, not both");
  if (!limit && !latency) r.fail("limit (queue bytes) or latencyUs (longest wait, microseconds) is required");
  if (limit && *limit > 0xFFFFFFFFu)
    r.fail("limit", std::to_string(*limit) + " is out of range (at most 4294967295 bytes)");

  tc_tbf_qopt opt;
  std::memset(&opt, 0, sizeof opt);
  if (limit) {
    opt.limit = static_cast<uint32_t>(*limit);
  } else {
    double lim = static_cast<double>(rate) * static_cast<double>(*latency) / 1e6 + static_cast<double>(burst);
    if (peak) {
      double lim2 =
          static_cast<double>(peak) * static_cast<double>(*latency) / 1e6 + static_cast<double>(mtu);
      if (lim2 < lim) lim = lim2;
    }
    if (lim >= 4294967295.0)
      r.fail("latencyUs", "gives a queue over 4 GiB at this rate; lower it or give limit");
    opt.limit = static_cast<uint32_t>(lim);
  }
  // Like tc, the tick fields use the 32-bit rate; above 2^32 B/s the kernel reads TCA_TBF_BURST
  // and TCA_TBF_PBURST (bytes) instead, so only the byte values matter there.
  fill_ratespec(opt.rate, rate, static_cast<uint32_t>(mtu), mpu);
  opt.buffer = buffer_ticks ? static_cast<uint32_t>(*buffer_ticks) : xmittime(opt.rate.rate, burst);
  if (peak) {
    fill_ratespec(opt.peakrate, peak, static_cast<uint32_t>(mtu), mpu);
    opt.mtu = xmittime(opt.peakrate.rate, mtu);
  }

  nlattr* options = m.nest_start(TCA_OPTIONS);
  m.put(TCA_TBF_PARMS, &opt, sizeof opt);
  if (burst) m.put_u32(TCA_TBF_BURST, static_cast<uint32_t>(burst));
  if (rate >= k32) m.put_u64(TCA_TBF_RATE64, rate);
  if (peak) {
    if (peak >= k32) m.put_u64(TCA_TBF_PRATE64, peak);
    m.put_u32(TCA_TBF_PBURST, static_cast<uint32_t>(mtu));
  }
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_TBF_MAX + 1];
  parse_nested(options, tb, TCA_TBF_MAX);
  if (!tb[TCA_TBF_PARMS] || mnl_attr_get_payload_len(tb[TCA_TBF_PARMS]) < sizeof(tc_tbf_qopt)) return;
  tc_tbf_qopt opt;
  std::memcpy(&opt, mnl_attr_get_payload(tb[TCA_TBF_PARMS]), sizeof opt);
  uint64_t rate = tb[TCA_TBF_RATE64] ? attr_u64(tb[TCA_TBF_RATE64]) : opt.rate.rate;
  w.set_u64("rate", rate * 8);
  w.set_u64("burst", xmitsize(rate, opt.buffer));
  w.set_u64("limit", opt.limit);
  if (opt.rate.mpu) w.set_u64("mpu", opt.rate.mpu);
  uint64_t peak = tb[TCA_TBF_PRATE64] ? attr_u64(tb[TCA_TBF_PRATE64]) : opt.peakrate.rate;
  if (peak) {
    w.set_u64("peakrate", peak * 8);
    w.set_u64("minburst", xmitsize(peak, opt.mtu));
  }
}

}  // namespace

extern const QdiscKind tbf_qdisc = {"tbf", 0, 0, encode, decode, nullptr};

}  // namespace netqos
