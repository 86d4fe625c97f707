// ct: send the packet through conntrack (in zone `zone`), optionally commit the connection with
// a mark, labels and NAT, or clear its conntrack state (iproute2's m_ct.c: zone, mark, labels,
// NAT range, then the action flags and the parameters).
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_ct.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "registry.h"

namespace netqos {

namespace {

// A u32 (or a label's bytes) and its mask: all ones when not given.
void put_masked_u32(Message& m, const FieldReader& r, const char* field, const char* mask_field,
                    uint16_t type, uint16_t mask_type) {
  if (!r.has(field)) {
    if (r.has(mask_field)) r.fail(mask_field, std::string("needs ") + field);
    return;
  }
  m.put_u32(type, static_cast<uint32_t>(r.u64_in(field, 0, 0xFFFFFFFFu, 0)));
  m.put_u32(mask_type, static_cast<uint32_t>(r.u64_in(mask_field, 0, 0xFFFFFFFFu, 0xFFFFFFFFu)));
}

void encode(Message& m, const FieldReader& r) {
  bool commit = r.boolean("commit").value_or(false), force = r.boolean("force").value_or(false);
  bool clear = r.boolean("clear").value_or(false);
  auto nat = r.object("nat");
  uint16_t flags =
      (commit ? TCA_CT_ACT_COMMIT : 0) | (force ? TCA_CT_ACT_FORCE : 0) | (clear ? TCA_CT_ACT_CLEAR : 0);
  if (clear && (commit || force || nat || r.has("zone") || r.has("mark") || r.has("label")))
    r.fail("clear", "stands alone (it drops the packet's conntrack state)");
  if (force && !commit) r.fail("force", "needs commit");
  for (const char* f : {"mark", "label"})
    if (r.has(f) && !commit) r.fail(f, "needs commit (it is set on the committed connection)");

  if (r.has("zone")) m.put_u16(TCA_CT_ZONE, static_cast<uint16_t>(r.u64_in("zone", 0, 0xFFFF, 0)));
  put_masked_u32(m, r, "mark", "markMask", TCA_CT_MARK, TCA_CT_MARK_MASK);
  if (r.has("label")) {
    auto label = parse_hex(r, "label", 16);
    auto mask = parse_hex(r, "labelMask", 16);
    if (mask.empty()) mask.assign(16, 0xff);
    m.put(TCA_CT_LABELS, label.data(), label.size());
    m.put(TCA_CT_LABELS_MASK, mask.data(), mask.size());
  } else if (r.has("labelMask")) {
    r.fail("labelMask", "needs label");
  }
  if (nat) {
    flags |= TCA_CT_ACT_NAT;
    // Without a type, NAT is applied as the connection already has it (tc's bare "nat").
    if (auto type = nat->string("type")) {
      if (*type != "src" && *type != "dst")
        nat->fail("type", quote(*type) + " is not a NAT type (allowed: src, dst)");
      flags |= *type == "src" ? TCA_CT_ACT_NAT_SRC : TCA_CT_ACT_NAT_DST;
      if (!commit) nat->fail("type", "needs commit (source or destination NAT is set up on commit)");
      if (!nat->has("addrMin")) nat->fail("addrMin", "is required with a NAT type");
      IpPrefix lo = read_ip(*nat, "addrMin", AF_UNSPEC, false);
      IpPrefix hi = nat->has("addrMax") ? read_ip(*nat, "addrMax", lo.family, false) : lo;
      m.put(lo.family == AF_INET ? TCA_CT_NAT_IPV4_MIN : TCA_CT_NAT_IPV6_MIN, lo.addr, lo.len);
      m.put(lo.family == AF_INET ? TCA_CT_NAT_IPV4_MAX : TCA_CT_NAT_IPV6_MAX, hi.addr, hi.len);
      if (nat->has("portMin")) {
        auto lo_port = static_cast<uint16_t>(nat->u64_in("portMin", 0, 0xFFFF, 0));
        auto hi_port = static_cast<uint16_t>(nat->u64_in("portMax", 0, 0xFFFF, lo_port));
        m.put_u16(TCA_CT_NAT_PORT_MIN, htons(lo_port));
        m.put_u16(TCA_CT_NAT_PORT_MAX, htons(hi_port));
      } else if (nat->has("portMax")) {
        nat->fail("portMax", "needs portMin");
      }
    } else {
      if (commit) nat->fail("type", "is required with commit (src or dst)");
      for (const char* f : {"addrMin", "addrMax", "portMin", "portMax"})
        if (nat->has(f)) nat->fail(f, "needs a type (src or dst)");
    }
  }
  tc_ct p{};
  read_action_head(r, p, TC_ACT_PIPE);
  m.put_u16(TCA_CT_ACTION, flags);
  m.put(TCA_CT_PARMS, &p, sizeof p);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_CT_MAX + 1];
  parse_nested(options, tb, TCA_CT_MAX);
  tc_ct p;
  if (!read_parms(tb, TCA_CT_PARMS, p)) return;
  uint16_t flags =
      tb[TCA_CT_ACTION] && mnl_attr_get_payload_len(tb[TCA_CT_ACTION]) >= 2 ? attr_u16(tb[TCA_CT_ACTION]) : 0;
  if (flags & TCA_CT_ACT_COMMIT) w.set_bool("commit", true);
  if (flags & TCA_CT_ACT_FORCE) w.set_bool("force", true);
  if (flags & TCA_CT_ACT_CLEAR) w.set_bool("clear", true);
  get_uint_field(tb, TCA_CT_ZONE, 2, w, "zone");
  // The kernel reports a mark and labels only when set (non-zero masks).
  if (tb[TCA_CT_MARK_MASK] && mnl_attr_get_payload_len(tb[TCA_CT_MARK_MASK]) >= 4 &&
      attr_u32(tb[TCA_CT_MARK_MASK])) {
    get_uint_field(tb, TCA_CT_MARK, 4, w, "mark");
    if (attr_u32(tb[TCA_CT_MARK_MASK]) != ~0U) get_uint_field(tb, TCA_CT_MARK_MASK, 4, w, "markMask");
  }
  if (tb[TCA_CT_LABELS] && tb[TCA_CT_LABELS_MASK]) {
    const auto* mask = static_cast<const uint8_t*>(mnl_attr_get_payload(tb[TCA_CT_LABELS_MASK]));
    size_t len = mnl_attr_get_payload_len(tb[TCA_CT_LABELS_MASK]);
    bool any = false, full = true;
    for (size_t i = 0; i < len; i++) {
      any = any || mask[i];
      full = full && mask[i] == 0xff;
    }
    if (any) {
      w.set_string("label", to_hex(mnl_attr_get_payload(tb[TCA_CT_LABELS]),
                                   mnl_attr_get_payload_len(tb[TCA_CT_LABELS])));
      if (!full) w.set_string("labelMask", to_hex(mask, len));
    }
  }
  if (flags & TCA_CT_ACT_NAT) {
    auto nat = w.object("nat");
    if (flags & (TCA_CT_ACT_NAT_SRC | TCA_CT_ACT_NAT_DST))
      nat->set_string("type", flags & TCA_CT_ACT_NAT_SRC ? "src" : "dst");
    auto addr = [&](const char* field, int v4, int v6) {
      if (tb[v4] && mnl_attr_get_payload_len(tb[v4]) >= 4)
        nat->set_string(field, ip_text(AF_INET, mnl_attr_get_payload(tb[v4])));
      else if (tb[v6] && mnl_attr_get_payload_len(tb[v6]) >= 16)
        nat->set_string(field, ip_text(AF_INET6, mnl_attr_get_payload(tb[v6])));
    };
    addr("addrMin", TCA_CT_NAT_IPV4_MIN, TCA_CT_NAT_IPV6_MIN);
    addr("addrMax", TCA_CT_NAT_IPV4_MAX, TCA_CT_NAT_IPV6_MAX);
    for (auto [type, field] :
         {std::pair{TCA_CT_NAT_PORT_MIN, "portMin"}, std::pair{TCA_CT_NAT_PORT_MAX, "portMax"}})
      if (tb[type] && mnl_attr_get_payload_len(tb[type]) >= 2) nat->set_u64(field, ntohs(attr_u16(tb[type])));
  }
  write_action_head(p, w);
}

}  // namespace

extern const ActionKind ct_action = {"ct", encode, decode};

}  // namespace netqos
