// reject: { type: 'tcp-reset' | 'icmp' | 'icmpx', code? }: answers the packet (a TCP reset, or
// an ICMP error of that code; icmpx codes: 0 no route, 1 port unreachable, 2 host unreachable,
// 3 administratively prohibited) and drops it. A tcp-reset rule must match TCP first (meta
// l4proto tcp), as nft makes it: the kernel does not check.
#include "nft/nft.h"

namespace netqos::nft {

namespace {

const char* const kTypes[] = {"icmp", "tcp-reset", "icmpx"};

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  auto type = r.string("type");
  if (!type) r.fail("type", "is required (tcp-reset, icmp or icmpx)");
  uint32_t value = 3;
  for (uint32_t i = 0; i < 3; i++)
    if (*type == kTypes[i]) value = i;
  if (value == 3) r.fail("type", quote(*type) + " is not a reject type (allowed: tcp-reset, icmp, icmpx)");
  put_be32(m, NFTA_REJECT_TYPE, value);
  // nft always sends a code: 0 with a TCP reset, port unreachable by default otherwise (ICMP
  // code 3; icmpx's own numbering, 1).
  uint64_t fallback = value == NFT_REJECT_TCP_RST ? 0 : value == NFT_REJECT_ICMP_UNREACH ? 3 : 1;
  m.put_u8(NFTA_REJECT_ICMP_CODE, static_cast<uint8_t>(r.u64_in("code", 0, 255, fallback)));
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_REJECT_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_REJECT_MAX);
  uint32_t type = be32(tb[NFTA_REJECT_TYPE]);
  w.set_string("type", type < 3 ? kTypes[type] : std::to_string(type));
  if (tb[NFTA_REJECT_ICMP_CODE] && mnl_attr_get_payload_len(tb[NFTA_REJECT_ICMP_CODE]) >= 1)
    w.set_u64("code", mnl_attr_get_u8(tb[NFTA_REJECT_ICMP_CODE]));
}

}  // namespace

extern const ExprKind reject_expr = {"reject", encode, decode};

}  // namespace netqos::nft
