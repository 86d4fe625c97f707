// prio: strict-priority bands chosen by the packet's priority through a priomap; pfifo_fast, the
// kernel's old default, reports the same options (three bands, a fixed map) and takes none. As
// iproute2's q_prio.c, the options are the struct followed by a nest of the same type (empty).
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <vector>

#include "registry.h"

namespace netqos {

namespace {

// tc's default map (the kernel's prio2band).
constexpr uint8_t kDefaultPriomap[TC_PRIO_MAX + 1] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

void encode_prio(Message& m, const FieldReader& r) {
  tc_prio_qopt opt{};
  opt.bands = static_cast<int>(r.u64_in("bands", 2, TCQ_PRIO_BANDS, 3));
  std::memcpy(opt.priomap, kDefaultPriomap, sizeof opt.priomap);
  // Entries given replace the first ones of the default map, as tc's priomap does.
  auto map = r.integers_in("priomap", 0, opt.bands - 1, TC_PRIO_MAX + 1);
  for (size_t i = 0; i < map.size(); i++) opt.priomap[i] = static_cast<uint8_t>(map[i]);
  for (size_t i = map.size(); i <= TC_PRIO_MAX; i++)
    if (opt.priomap[i] >= opt.bands)
      r.fail("priomap", "the default map sends priority " + std::to_string(i) + " to band " +
                            std::to_string(opt.priomap[i]) + ", beyond " + std::to_string(opt.bands) +
                            " bands: give all 16 entries");
  nlattr* options = m.nest_start(TCA_OPTIONS);
  m.put_raw(&opt, sizeof opt);
  m.nest_end(m.nest_start(TCA_OPTIONS));
  m.nest_end(options);
}

void decode_prio(const nlattr* options, FieldWriter& w) {
  if (!options || mnl_attr_get_payload_len(options) < sizeof(tc_prio_qopt)) return;
  tc_prio_qopt opt;
  std::memcpy(&opt, mnl_attr_get_payload(options), sizeof opt);
  w.set_u64("bands", static_cast<uint32_t>(opt.bands));
  w.set_numbers("priomap", std::vector<double>(opt.priomap, opt.priomap + TC_PRIO_MAX + 1));
}

}  // namespace

extern const QdiscKind prio_qdisc = {"prio", 0, 0, encode_prio, decode_prio, nullptr};
extern const QdiscKind pfifo_fast_qdisc = {"pfifo_fast", 0, 0, nullptr, decode_prio, nullptr};

}  // namespace netqos
