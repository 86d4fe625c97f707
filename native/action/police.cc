// police: a token-bucket policer over bytes (rate, burst, mtu, peakrate) or packets (pktRate,
// pktBurst). Computes the same values, and emits the same attributes in the same order, as
// iproute2's m_police.c (6.x) for the same parameters.
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

constexpr uint64_t k32 = 1ULL << 32;

// The mtu the kernel sets when none was given: 255 << cell_log of the rate table, and this
// encoder always computes that table for tc's default 2047 bytes (cell_log 3).
constexpr uint32_t kKernelDefaultMtu = 255u << 3;

// tc_calc_xmittime of `size` at `rate`, refusing what does not fit the kernel's 32-bit ticks.
uint32_t ticks_for(const FieldReader& r, const char* field, uint64_t rate, uint64_t size, const char* unit) {
  if (xmittime_exact(rate, size) >= static_cast<double>(kMaxTicks))
    r.fail(field, std::to_string(size) + " " + unit +
                      " takes too long to send at this rate (the "
                      "kernel keeps it as 32-bit 64 ns ticks, at most about 274 s)");
  return xmittime(rate, size);
}

// tc_calc_rtable_64 for Ethernet: the ratespec carries the rate capped to 32 bits, the table is
// computed from the full 64-bit rate. `mtu` 0 means tc's default of 2047 bytes.
void fill_rate(tc_ratespec& spec, uint32_t table[256], uint64_t rate, uint32_t mtu) {
  fill_ratespec(spec, rate, mtu, 0);
  fill_rate_table(table, rate, spec.cell_log);
}

void encode(Message& m, const FieldReader& r) {
  uint64_t rate = read_rate_bytes(r, "rate", false);
  uint64_t peak = read_rate_bytes(r, "peakrate", false);
  uint64_t burst = r.u64_in("burst", 1, 0xFFFFFFFFu, 0);
  auto mtu = static_cast<uint32_t>(r.u64_in("mtu", 1, 0xFFFFFFFFu, 0));
  uint64_t pps = r.u64_in("pktRate", 1, ~0ULL, 0);
  uint64_t pkt_burst = r.u64_in("pktBurst", 1, 0xFFFFFFFFu, 0);
  auto index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));

  if (rate && pps)
    r.fail("pktRate",
           "cannot be combined with rate: a policer counts either bytes (rate, burst) or "
           "packets (pktRate, pktBurst), not both");
  if (rate && !burst) r.fail("burst", "is required with rate (bytes, e.g. 65536)");
  if (burst && !rate) r.fail("rate", "is required with burst (bit/s, e.g. 10000000 for 10 Mbit/s)");
  if (peak && !rate) r.fail("rate", "is required with peakrate (bit/s)");
  if (peak && !mtu)
    r.fail("mtu", "is required with peakrate (bytes, at least the largest packet, e.g. 2048)");
  if (pps && !pkt_burst) r.fail("pktBurst", "is required with pktRate (packets, e.g. 10)");
  if (pkt_burst && !pps) r.fail("pktRate", "is required with pktBurst (packets/s, e.g. 1000)");
  if (pps && peak) r.fail("peakrate", "applies to the byte rate and cannot be used with pktRate");
  // As tc: a policer needs a byte or packet rate, unless it only names an existing one (index)
  // or only checks packet sizes (mtu).
  if (!rate && !pps && !index && !mtu)
    r.fail(
        "rate or pktRate is required (rate in bit/s with burst in bytes, or pktRate in "
        "packets/s with pktBurst in packets)");

  tc_police p;
  std::memset(&p, 0, sizeof p);
  p.index = index;
  // tc's default for exceeding packets is reclassify; "drop" is what policing usually wants.
  p.action = parse_control(r, "exceed", TC_POLICE_RECLASSIFY);
  int32_t conform = parse_control(r, "conform", TC_ACT_OK);
  uint32_t rtab[256], ptab[256];
  if (rate) {
    p.burst = ticks_for(r, "burst", rate, burst, "bytes");
    fill_rate(p.rate, rtab, rate, mtu);
  }
  p.mtu = mtu;
  if (peak) fill_rate(p.peakrate, ptab, peak, mtu);
  uint32_t pkt_ticks = pps ? ticks_for(r, "pktBurst", pps, pkt_burst, "packets") : 0;

  m.put(TCA_POLICE_TBF, &p, sizeof p);
  if (rate) {
    // The kernel refuses a rate without its table.
    m.put(TCA_POLICE_RATE, rtab, sizeof rtab);
    if (rate >= k32) m.put_u64(TCA_POLICE_RATE64, rate);
  }
  if (peak) {
    m.put(TCA_POLICE_PEAKRATE, ptab, sizeof ptab);
    if (peak >= k32) m.put_u64(TCA_POLICE_PEAKRATE64, peak);
  }
  // Conforming packets get TC_ACT_OK (0) unless told otherwise; tc sends only a non-zero result.
  if (conform != TC_ACT_OK) m.put_u32(TCA_POLICE_RESULT, static_cast<uint32_t>(conform));
  if (pps) {
    m.put_u64(TCA_POLICE_PKTRATE64, pps);
    m.put_u64(TCA_POLICE_PKTBURST64, pkt_ticks);  // ticks, as tc computes it
  }
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_POLICE_MAX + 1];
  parse_nested(options, tb, TCA_POLICE_MAX);
  if (!tb[TCA_POLICE_TBF] || mnl_attr_get_payload_len(tb[TCA_POLICE_TBF]) < sizeof(tc_police)) return;
  tc_police p;
  std::memcpy(&p, mnl_attr_get_payload(tb[TCA_POLICE_TBF]), sizeof p);
  auto u64_attr = [&](int type) -> uint64_t {
    const nlattr* a = tb[type];
    return a && mnl_attr_get_payload_len(a) >= sizeof(uint64_t) ? attr_u64(a) : 0;
  };

  uint64_t rate = u64_attr(TCA_POLICE_RATE64);
  if (!rate) rate = p.rate.rate;
  if (rate) {
    w.set_u64("rate", rate * 8);
    w.set_u64("burst", xmitsize(rate, p.burst));
  }
  uint64_t peak = u64_attr(TCA_POLICE_PEAKRATE64);
  if (!peak) peak = p.peakrate.rate;
  if (peak) w.set_u64("peakrate", peak * 8);
  // The kernel reports an mtu even when none was given: ~0 (no limit), or 255 << cell_log of
  // the rate table (2040 for the tables this encoder sends). Those read back as absent.
  bool default_mtu = p.mtu == 0 || p.mtu == ~0U || (rate && !peak && p.mtu == kKernelDefaultMtu);
  if (!default_mtu) w.set_u64("mtu", p.mtu);
  uint64_t pps = u64_attr(TCA_POLICE_PKTRATE64);
  if (pps && tb[TCA_POLICE_PKTBURST64]) {
    uint64_t ticks = u64_attr(TCA_POLICE_PKTBURST64);
    w.set_u64("pktRate", pps);
    // Ticks back to packets, rounded to the nearest packet.
    w.set_u64("pktBurst", xmitsize(pps, ticks > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(ticks)));
  }
  // Conforming packets: TC_ACT_OK (0) when the kernel leaves TCA_POLICE_RESULT out.
  int32_t conform =
      tb[TCA_POLICE_RESULT] && mnl_attr_get_payload_len(tb[TCA_POLICE_RESULT]) >= sizeof(uint32_t)
          ? static_cast<int32_t>(attr_u32(tb[TCA_POLICE_RESULT]))
          : TC_ACT_OK;
  w.set_string("conform", control_name(conform));
  w.set_string("exceed", control_name(p.action));
  w.set_u64("index", p.index);
}

}  // namespace

extern const ActionKind police_action = {"police", encode, decode};

}  // namespace netqos
