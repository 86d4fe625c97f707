// lookup: { set, sreg?, dreg?, invert? } matches when the register's value is in the set; with
// dreg (0 for a verdict map) it also loads the element's data: `iifname vmap @pods` is
// meta iifname => reg 1, then lookup { set: 'pods', sreg: 1, dreg: 0 }.
#include "nft/nft.h"

namespace netqos::nft {

namespace {

void encode(Message& m, const FieldReader& r, const ExprContext& ctx) {
  std::string set = read_name(r, "set");
  put_register(m, NFTA_LOOKUP_SREG, r, "sreg", NFT_REG_1);
  if (r.has("dreg")) put_register(m, NFTA_LOOKUP_DREG, r, "dreg", NFT_REG_1, true);
  m.put_strz(NFTA_LOOKUP_SET, set);
  if (ctx.batch) {
    auto made = ctx.batch->set_ids.find(family_name(ctx.family) + " " + ctx.table + " " + set);
    if (made != ctx.batch->set_ids.end()) put_be32(m, NFTA_LOOKUP_SET_ID, made->second);
  }
  if (r.boolean("invert").value_or(false)) put_be32(m, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_LOOKUP_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_LOOKUP_MAX);
  w.set_string("set", attr_string(tb[NFTA_LOOKUP_SET]));
  w.set_u64("sreg", be32(tb[NFTA_LOOKUP_SREG]));
  if (tb[NFTA_LOOKUP_DREG]) w.set_u64("dreg", be32(tb[NFTA_LOOKUP_DREG]));
  if (be32(tb[NFTA_LOOKUP_FLAGS]) & NFT_LOOKUP_F_INV) w.set_bool("invert", true);
}

}  // namespace

extern const ExprKind lookup_expr = {"lookup", encode, decode, true};

}  // namespace netqos::nft
