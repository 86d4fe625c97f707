// payload: { base, offset, len, dreg? } loads packet bytes into a register; with sreg instead it
// writes them back, and { csumType: 'inet' | 'sctp', csumOffset, csumFlags?: ['l4pseudohdr'] }
// has the kernel update that checksum (the IPv4 header's at offset 10 for a DSCP rewrite).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

const char* const kBases[] = {"link", "network", "transport", "inner"};
const char* const kChecksums[] = {"none", "inet", "sctp"};

template <size_t N>
uint32_t pick(const FieldReader& r, const char* field, const char* const (&names)[N], const char* allowed) {
  auto s = r.string(field);
  if (!s) r.fail(field, std::string("is required (") + allowed + ")");
  for (uint32_t i = 0; i < N; i++)
    if (*s == names[i]) return i;
  r.fail(field, quote(*s) + " is not allowed (" + allowed + ")");
}

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  uint32_t base = pick(r, "base", kBases, "link, network, transport, inner");
  auto offset = static_cast<uint32_t>(r.u64_in("offset", 0, 0xFFFF, 0));
  if (!r.has("offset")) r.fail("offset", "is required (bytes from the start of the header)");
  if (!r.has("len")) r.fail("len", "is required (bytes, 1..64)");
  auto len = static_cast<uint32_t>(r.u64_in("len", 1, 64, 0));
  bool write = r.has("sreg");
  if (write && r.has("dreg")) r.fail("sreg", "give sreg (write) or dreg (load), not both");
  if (!write) {
    for (const char* field : {"csumType", "csumOffset", "csumFlags"})
      if (r.has(field)) r.fail(field, "is only for payload writes (with sreg)");
    put_register(m, NFTA_PAYLOAD_DREG, r, "dreg", NFT_REG_1);
  }
  put_be32(m, NFTA_PAYLOAD_BASE, base);
  put_be32(m, NFTA_PAYLOAD_OFFSET, offset);
  put_be32(m, NFTA_PAYLOAD_LEN, len);
  if (!write) return;
  put_register(m, NFTA_PAYLOAD_SREG, r, "sreg", NFT_REG_1);
  uint32_t csum = r.has("csumType") ? pick(r, "csumType", kChecksums, "none, inet, sctp") : 0;
  if (csum == NFT_PAYLOAD_CSUM_NONE) {
    for (const char* field : {"csumOffset", "csumFlags"})
      if (r.has(field)) r.fail(field, "needs a csumType");
    return;
  }
  if (!r.has("csumOffset")) r.fail("csumOffset", "is required with a csumType (where the checksum is)");
  put_be32(m, NFTA_PAYLOAD_CSUM_TYPE, csum);
  put_be32(m, NFTA_PAYLOAD_CSUM_OFFSET, static_cast<uint32_t>(r.u64_in("csumOffset", 0, 0xFFFF, 0)));
  uint32_t flags = 0;
  for (const auto& f : r.strings("csumFlags").value_or(std::vector<std::string>{})) {
    if (f != "l4pseudohdr") r.fail("csumFlags", quote(f) + " is not a checksum flag (allowed: l4pseudohdr)");
    flags |= NFT_PAYLOAD_L4CSUM_PSEUDOHDR;
  }
  if (flags) put_be32(m, NFTA_PAYLOAD_CSUM_FLAGS, flags);
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_PAYLOAD_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_PAYLOAD_MAX);
  uint32_t base = be32(tb[NFTA_PAYLOAD_BASE]);
  w.set_string("base", base < 4 ? kBases[base] : std::to_string(base));
  w.set_u64("offset", be32(tb[NFTA_PAYLOAD_OFFSET]));
  w.set_u64("len", be32(tb[NFTA_PAYLOAD_LEN]));
  if (tb[NFTA_PAYLOAD_DREG]) w.set_u64("dreg", be32(tb[NFTA_PAYLOAD_DREG]));
  if (tb[NFTA_PAYLOAD_SREG]) w.set_u64("sreg", be32(tb[NFTA_PAYLOAD_SREG]));
  uint32_t csum = be32(tb[NFTA_PAYLOAD_CSUM_TYPE]);
  if (csum != NFT_PAYLOAD_CSUM_NONE) {
    w.set_string("csumType", csum < 3 ? kChecksums[csum] : std::to_string(csum));
    w.set_u64("csumOffset", be32(tb[NFTA_PAYLOAD_CSUM_OFFSET]));
    if (be32(tb[NFTA_PAYLOAD_CSUM_FLAGS]) & NFT_PAYLOAD_L4CSUM_PSEUDOHDR)
      w.set_strings("csumFlags", {"l4pseudohdr"});
  }
}

}  // namespace

extern const ExprKind payload_expr = {"payload", encode, decode};

}  // namespace netqos::nft
