// counter: {} counts the packets and bytes that reach it; reads back with { packets, bytes }.
// Starting values may be given (nft sends none).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  if (r.has("bytes")) put_be64(m, NFTA_COUNTER_BYTES, r.u64_in("bytes", 0, ~0ULL, 0));
  if (r.has("packets")) put_be64(m, NFTA_COUNTER_PACKETS, r.u64_in("packets", 0, ~0ULL, 0));
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_COUNTER_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_COUNTER_MAX);
  w.set_u64("packets", be64(tb[NFTA_COUNTER_PACKETS]));
  w.set_u64("bytes", be64(tb[NFTA_COUNTER_BYTES]));
}

}  // namespace

extern const ExprKind counter_expr = {"counter", encode, decode};

}  // namespace netqos::nft
