// bitwise: { sreg?, dreg?, len, mask, xor } computes dreg = (sreg & mask) ^ xor over len bytes
// (data values, see data.cc); { op: 'lshift' | 'rshift', shift } shifts 32-bit words instead.
#include "nft/nft.h"

namespace netqos::nft {

namespace {

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  if (!r.has("len")) r.fail("len", "is required (bytes, 1..64)");
  auto len = static_cast<uint32_t>(r.u64_in("len", 1, 64, 0));
  std::string op = r.string("op").value_or("mask-xor");
  if (op != "mask-xor" && op != "lshift" && op != "rshift")
    r.fail("op", quote(op) + " is not a bitwise operation (allowed: mask-xor, lshift, rshift)");
  put_register(m, NFTA_BITWISE_SREG, r, "sreg", NFT_REG_1);
  put_register(m, NFTA_BITWISE_DREG, r, "dreg", NFT_REG_1);
  put_be32(m, NFTA_BITWISE_LEN, len);
  if (op == "mask-xor") {
    if (r.has("shift")) r.fail("shift", "is only for lshift and rshift");
    auto mask = read_data(r, "mask");
    auto x = read_data(r, "xor");
    if (mask.size() != len)
      r.fail("mask", std::to_string(mask.size()) + " bytes, but len is " + std::to_string(len));
    if (x.size() != len)
      r.fail("xor", std::to_string(x.size()) + " bytes, but len is " + std::to_string(len));
    put_data_value(m, NFTA_BITWISE_MASK, mask);
    put_data_value(m, NFTA_BITWISE_XOR, x);
    if (r.has("op")) put_be32(m, NFTA_BITWISE_OP, NFT_BITWISE_MASK_XOR);
    return;
  }
  for (const char* field : {"mask", "xor"})
    if (r.has(field)) r.fail(field, "is only for mask-xor");
  if (!r.has("shift")) r.fail("shift", "is required (bits, 0..31)");
  put_be32(m, NFTA_BITWISE_OP, op == "lshift" ? NFT_BITWISE_LSHIFT : NFT_BITWISE_RSHIFT);
  uint32_t shift = static_cast<uint32_t>(r.u64_in("shift", 0, 31, 0));
  put_data_value(m, NFTA_BITWISE_DATA,
                 {static_cast<uint8_t>(shift), static_cast<uint8_t>(shift >> 8),
                  static_cast<uint8_t>(shift >> 16), static_cast<uint8_t>(shift >> 24)});
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_BITWISE_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_BITWISE_MAX);
  w.set_u64("sreg", be32(tb[NFTA_BITWISE_SREG]));
  w.set_u64("dreg", be32(tb[NFTA_BITWISE_DREG]));
  w.set_u64("len", be32(tb[NFTA_BITWISE_LEN]));
  uint32_t op = tb[NFTA_BITWISE_OP] ? be32(tb[NFTA_BITWISE_OP]) : static_cast<uint32_t>(NFT_BITWISE_MASK_XOR);
  if (op == NFT_BITWISE_MASK_XOR) {
    // nft names the operation in some rules and not in others; keep what was sent.
    if (tb[NFTA_BITWISE_OP]) w.set_string("op", "mask-xor");
    decode_data(tb[NFTA_BITWISE_MASK], w, "mask");
    decode_data(tb[NFTA_BITWISE_XOR], w, "xor");
    return;
  }
  w.set_string("op", op == NFT_BITWISE_LSHIFT   ? "lshift"
                     : op == NFT_BITWISE_RSHIFT ? "rshift"
                                                : std::to_string(op));
  const nlattr* d[NFTA_DATA_MAX + 1];
  if (!tb[NFTA_BITWISE_DATA]) return;
  parse_nested(tb[NFTA_BITWISE_DATA], d, NFTA_DATA_MAX);
  if (d[NFTA_DATA_VALUE] && mnl_attr_get_payload_len(d[NFTA_DATA_VALUE]) == 4)
    w.set_u64("shift", mnl_attr_get_u32(d[NFTA_DATA_VALUE]));
}

}  // namespace

extern const ExprKind bitwise_expr = {"bitwise", encode, decode};

}  // namespace netqos::nft
