// limit: { rate, unit?: 'second' | 'minute' | 'hour' | 'day' | 'week' (default second),
// burst?, type?: 'packets' | 'bytes' (default packets), over?: boolean }. With over, the
// expression matches what exceeds the rate (`limit rate over 100/second ... drop`).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

struct Unit {
  const char* name;
  uint64_t seconds;
};
const Unit kUnits[] = {{"second", 1}, {"minute", 60}, {"hour", 3600}, {"day", 86400}, {"week", 604800}};

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  if (!r.has("rate")) r.fail("rate", "is required (packets or bytes per unit)");
  uint64_t rate = r.u64_in("rate", 1, ~0ULL, 0);
  std::string unit = r.string("unit").value_or("second");
  uint64_t seconds = 0;
  for (const auto& u : kUnits)
    if (unit == u.name) seconds = u.seconds;
  if (!seconds) r.fail("unit", quote(unit) + " is not a unit (allowed: second, minute, hour, day, week)");
  std::string type = r.string("type").value_or("packets");
  if (type != "packets" && type != "bytes") r.fail("type", quote(type) + " is not allowed (packets, bytes)");
  // nft's default burst: 5 packets, or none for bytes.
  auto burst = static_cast<uint32_t>(r.u64_in("burst", 0, 0xFFFFFFFFu, type == "packets" ? 5 : 0));
  put_be64(m, NFTA_LIMIT_RATE, rate);
  put_be64(m, NFTA_LIMIT_UNIT, seconds);
  put_be32(m, NFTA_LIMIT_BURST, burst);
  put_be32(m, NFTA_LIMIT_TYPE, type == "packets" ? NFT_LIMIT_PKTS : NFT_LIMIT_PKT_BYTES);
  put_be32(m, NFTA_LIMIT_FLAGS, r.boolean("over").value_or(false) ? NFT_LIMIT_F_INV : 0);
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_LIMIT_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_LIMIT_MAX);
  w.set_u64("rate", be64(tb[NFTA_LIMIT_RATE]));
  uint64_t seconds = be64(tb[NFTA_LIMIT_UNIT]);
  std::string unit = std::to_string(seconds) + "s";
  for (const auto& u : kUnits)
    if (seconds == u.seconds) unit = u.name;
  w.set_string("unit", unit);
  w.set_u64("burst", be32(tb[NFTA_LIMIT_BURST]));
  w.set_string("type", be32(tb[NFTA_LIMIT_TYPE]) == NFT_LIMIT_PKT_BYTES ? "bytes" : "packets");
  w.set_bool("over", be32(tb[NFTA_LIMIT_FLAGS]) & NFT_LIMIT_F_INV);
}

}  // namespace

extern const ExprKind limit_expr = {"limit", encode, decode};

}  // namespace netqos::nft
