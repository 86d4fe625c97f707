// meta: { key, dreg? } loads a packet's metadata into a register (dreg, default 1);
// { key, sreg } sets it from one (meta priority, meta mark).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

const char* const kKeys[] = {"len",         "protocol",  "priority", "mark",     "iif",      "oif",
                             "iifname",     "oifname",   "iiftype",  "oiftype",  "skuid",    "skgid",
                             "nftrace",     "rtclassid", "secmark",  "nfproto",  "l4proto",  "bri_iifname",
                             "bri_oifname", "pkttype",   "cpu",      "iifgroup", "oifgroup", "cgroup",
                             "prandom",     "secpath",   "iifkind",  "oifkind"};
constexpr uint32_t kKeyCount = sizeof kKeys / sizeof kKeys[0];

void encode(Message& m, const FieldReader& r, const ExprContext&) {
  auto key = r.string("key");
  if (!key) r.fail("key", "is required (iifname, oifname, protocol, l4proto, nfproto, priority, mark, ...)");
  uint32_t value = kKeyCount;
  for (uint32_t i = 0; i < kKeyCount; i++)
    if (*key == kKeys[i]) value = i;
  if (value == kKeyCount) r.fail("key", quote(*key) + " is not a meta key");
  if (r.has("sreg") && r.has("dreg")) r.fail("sreg", "give sreg (set) or dreg (load), not both");
  put_be32(m, NFTA_META_KEY, value);
  if (r.has("sreg"))
    put_register(m, NFTA_META_SREG, r, "sreg", NFT_REG_1);
  else
    put_register(m, NFTA_META_DREG, r, "dreg", NFT_REG_1);
}

void decode(const nlattr* data, FieldWriter& w) {
  const nlattr* tb[NFTA_META_MAX + 1];
  if (!data) return;
  parse_nested(data, tb, NFTA_META_MAX);
  uint32_t key = be32(tb[NFTA_META_KEY]);
  w.set_string("key", key < kKeyCount ? kKeys[key] : std::to_string(key));
  if (tb[NFTA_META_DREG]) w.set_u64("dreg", be32(tb[NFTA_META_DREG]));
  if (tb[NFTA_META_SREG]) w.set_u64("sreg", be32(tb[NFTA_META_SREG]));
}

}  // namespace

extern const ExprKind meta_expr = {"meta", encode, decode};

}  // namespace netqos::nft
