// sfq: stochastic fairness queueing, flows hashed into buckets served round robin. The plain
// parameters of iproute2's q_sfq.c (its RED mode is not offered). The options are one struct,
// sent only when a parameter is given; the kernel fills in the rest.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

const char* const kFields[] = {"quantum", "perturbSec", "limit", "divisor", "flows", "depth", "headdrop"};

void encode(Message& m, const FieldReader& r) {
  bool any = false;
  for (const char* f : kFields) any = any || r.has(f);
  if (!any) return;
  tc_sfq_qopt_v1 opt{};
  opt.v0.quantum = static_cast<unsigned>(r.u64_in("quantum", 0, 0xFFFFFFFFu, 0));
  opt.v0.perturb_period = static_cast<int>(r.u64_in("perturbSec", 0, 0x7FFFFFFF, 0));
  opt.v0.limit = static_cast<uint32_t>(r.u64_in("limit", 2, 0xFFFFFFFFu, 0));
  opt.v0.divisor = static_cast<unsigned>(r.u64_in("divisor", 1, 65536, 0));
  if (opt.v0.divisor & (opt.v0.divisor - 1)) r.fail("divisor", "must be a power of 2 (at most 65536)");
  opt.v0.flows = static_cast<unsigned>(r.u64_in("flows", 0, 65536, 0));
  opt.depth = static_cast<uint32_t>(r.u64_in("depth", 0, 127, 0));
  opt.headdrop = r.boolean("headdrop").value_or(false) ? 1 : 0;
  m.put(TCA_OPTIONS, &opt, sizeof opt);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options || mnl_attr_get_payload_len(options) < sizeof(tc_sfq_qopt)) return;
  tc_sfq_qopt_v1 opt{};
  std::memcpy(&opt, mnl_attr_get_payload(options),
              std::min<size_t>(sizeof opt, mnl_attr_get_payload_len(options)));
  w.set_u64("quantum", opt.v0.quantum);
  w.set_u64("perturbSec", static_cast<uint32_t>(opt.v0.perturb_period));
  w.set_u64("limit", opt.v0.limit);
  w.set_u64("divisor", opt.v0.divisor);
  w.set_u64("flows", opt.v0.flows);
  if (mnl_attr_get_payload_len(options) >= sizeof opt) {
    w.set_u64("depth", opt.depth);
    w.set_bool("headdrop", opt.headdrop != 0);
  }
}

}  // namespace

extern const QdiscKind sfq_qdisc = {"sfq", 0, 0, encode, decode, nullptr};

}  // namespace netqos
