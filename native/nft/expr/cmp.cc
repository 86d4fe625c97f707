// cmp: { sreg?, op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte', data }: the rule goes on only
// when the register compares so with the data value.
#include "nft/nft.h"

namespace netqos::nft {

namespace {

const char* const kOps[] = {"eq", "neq", "lt", "lte", "gt", "gte"};

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  std::string op = r.string("op").value_or("eq");
  uint32_t value = 6;
  for (uint32_t i = 0; i < 6; i++)
    if (op == kOps[i]) value = i;
  if (value == 6) r.fail("op", quote(op) + " is not a comparison (allowed: eq, neq, lt, lte, gt, gte)");
  put_register(m, NFTA_CMP_SREG, r, "sreg", NFT_REG_1);
  put_be32(m, NFTA_CMP_OP, value);
  put_data_value(m, NFTA_CMP_DATA, read_data(r, "data"));
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_CMP_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_CMP_MAX);
  w.set_u64("sreg", be32(tb[NFTA_CMP_SREG]));
  uint32_t op = be32(tb[NFTA_CMP_OP]);
  w.set_string("op", op < 6 ? kOps[op] : std::to_string(op));
  decode_data(tb[NFTA_CMP_DATA], w, "data");
}

}  // namespace

extern const ExprKind cmp_expr = {"cmp", encode, decode};

}  // namespace netqos::nft
