// immediate: { verdict, chain? } ends the rule with a verdict (accept, drop, continue, return,
// jump or goto a chain); { dreg, data } loads a data value into a register (e.g. the priority a
// meta set writes).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  if (r.has("verdict")) {
    for (const char* field : {"data", "dreg"})
      if (r.has(field)) r.fail(field, "give a verdict or a data value, not both");
    put_be32(m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    put_verdict(m, NFTA_IMMEDIATE_DATA, r);
    return;
  }
  if (!r.has("data")) r.fail("verdict", "is required (or a data value with dreg)");
  put_register(m, NFTA_IMMEDIATE_DREG, r, "dreg", NFT_REG_1);
  put_data_value(m, NFTA_IMMEDIATE_DATA, read_data(r, "data"));
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_IMMEDIATE_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_IMMEDIATE_MAX);
  uint32_t dreg = be32(tb[NFTA_IMMEDIATE_DREG]);
  if (dreg != NFT_REG_VERDICT) w.set_u64("dreg", dreg);
  decode_data(tb[NFTA_IMMEDIATE_DATA], w, "data");
}

}  // namespace

extern const ExprKind immediate_expr = {"immediate", encode, decode};

}  // namespace netqos::nft
