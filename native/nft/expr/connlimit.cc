// connlimit: { count, over?: boolean } (nft's `ct count [over] N`): matches while the
// conntrack connections this rule has counted are at most (with over: more than) count.
#include "nft/nft.h"

namespace netqos::nft {

namespace {

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  if (!r.has("count")) r.fail("count", "is required (connections)");
  put_be32(m, NFTA_CONNLIMIT_COUNT, static_cast<uint32_t>(r.u64_in("count", 0, 0xFFFFFFFFu, 0)));
  put_be32(m, NFTA_CONNLIMIT_FLAGS, r.boolean("over").value_or(false) ? NFT_CONNLIMIT_F_INV : 0);
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_CONNLIMIT_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_CONNLIMIT_MAX);
  w.set_u64("count", be32(tb[NFTA_CONNLIMIT_COUNT]));
  w.set_bool("over", be32(tb[NFTA_CONNLIMIT_FLAGS]) & NFT_CONNLIMIT_F_INV);
}

}  // namespace

extern const ExprKind connlimit_expr = {"connlimit", encode, decode};

}  // namespace netqos::nft
