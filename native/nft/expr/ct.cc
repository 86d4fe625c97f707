// ct: { key, dreg?, direction?: 'original' | 'reply' } loads conntrack state into a register
// (`ct state` is key 'state', a u32 bitmask: invalid 1, established 2, related 4, new 8,
// untracked 64); { key, sreg } sets it (ct mark).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

const char* const kKeys[] = {"state",     "direction",  "status",   "mark",      "secmark",   "expiration",
                             "helper",    "l3protocol", "src",      "dst",       "protocol",  "proto-src",
                             "proto-dst", "labels",     "packets",  "bytes",     "avgpkt",    "zone",
                             "eventmask", "ip-saddr",   "ip-daddr", "ip6-saddr", "ip6-daddr", "id"};
constexpr uint32_t kKeyCount = sizeof kKeys / sizeof kKeys[0];

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  auto key = r.string("key");
  if (!key) r.fail("key", "is required (state, status, mark, ...)");
  uint32_t value = kKeyCount;
  for (uint32_t i = 0; i < kKeyCount; i++)
    if (*key == kKeys[i]) value = i;
  if (value == kKeyCount) r.fail("key", quote(*key) + " is not a conntrack key");
  if (r.has("sreg") && r.has("dreg")) r.fail("sreg", "give sreg (set) or dreg (load), not both");
  if (r.has("sreg"))
    put_register(m, NFTA_CT_SREG, r, "sreg", NFT_REG_1);
  else
    put_register(m, NFTA_CT_DREG, r, "dreg", NFT_REG_1);
  put_be32(m, NFTA_CT_KEY, value);
  if (auto dir = r.string("direction")) {
    if (*dir != "original" && *dir != "reply") r.fail("direction", quote(*dir) + " is not original or reply");
    m.put_u8(NFTA_CT_DIRECTION, *dir == "original" ? 0 : 1);
  }
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_CT_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_CT_MAX);
  uint32_t key = be32(tb[NFTA_CT_KEY]);
  w.set_string("key", key < kKeyCount ? kKeys[key] : std::to_string(key));
  if (tb[NFTA_CT_DREG]) w.set_u64("dreg", be32(tb[NFTA_CT_DREG]));
  if (tb[NFTA_CT_SREG]) w.set_u64("sreg", be32(tb[NFTA_CT_SREG]));
  if (tb[NFTA_CT_DIRECTION] && mnl_attr_get_payload_len(tb[NFTA_CT_DIRECTION]) >= 1)
    w.set_string("direction", mnl_attr_get_u8(tb[NFTA_CT_DIRECTION]) ? "reply" : "original");
}

}  // namespace

extern const ExprKind ct_expr = {"ct", encode, decode};

}  // namespace netqos::nft
