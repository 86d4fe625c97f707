// u32: the classic classifier. netqos uses it as a match-all (one zero key), the way Calico and
// the CNI bandwidth plugin do; explicit keys are accepted for other matches.
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <vector>

#include "operation.h"
#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  std::vector<tc_u32_key> keys;
  size_t n = r.array_length("keys");
  if (n > 128) r.fail("keys", "has " + std::to_string(n) + " keys (at most 128)");
  for (size_t i = 0; i < n; i++) {
    auto k = r.element("keys", i);
    tc_u32_key key{};
    key.val = htonl(static_cast<uint32_t>(k->u64_in("value", 0, 0xFFFFFFFFu, 0)));
    key.mask = htonl(static_cast<uint32_t>(k->u64_in("mask", 0, 0xFFFFFFFFu, 0)));
    auto off = k->i64("offset").value_or(0);
    if (off % 4 || off < INT32_MIN || off > INT32_MAX)
      k->fail("offset", std::to_string(off) + " must be a multiple of 4 within 32 bits");
    key.off = static_cast<int>(off);
    auto offmask = k->i64("offmask").value_or(0);
    if (offmask < INT32_MIN || offmask > INT32_MAX)
      k->fail("offmask", std::to_string(offmask) + " is out of range");
    key.offmask = static_cast<int>(offmask);
    keys.push_back(key);
  }
  if (keys.empty()) keys.push_back(tc_u32_key{});  // match u32 0 0: everything

  bool terminal = r.array_length("actions") > 0 || r.has("classid");
  nlattr* options = m.nest_start(TCA_OPTIONS);
  if (r.has("classid")) m.put_u32(TCA_U32_CLASSID, parse_handle(r, "classid", HandleContext::ClassId, 0));
  encode_actions(m, TCA_U32_ACT, r);

  std::vector<uint8_t> sel(sizeof(tc_u32_sel) + keys.size() * sizeof(tc_u32_key));
  auto* s = reinterpret_cast<tc_u32_sel*>(sel.data());
  s->flags = terminal ? TC_U32_TERMINAL : 0;
  s->nkeys = static_cast<unsigned char>(keys.size());
  std::memcpy(sel.data() + sizeof(tc_u32_sel), keys.data(), keys.size() * sizeof(tc_u32_key));
  m.put(TCA_U32_SEL, sel.data(), sel.size());

  if (uint32_t flags = read_cls_flags(r)) m.put_u32(TCA_U32_FLAGS, flags);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_U32_MAX + 1];
  parse_nested(options, tb, TCA_U32_MAX);
  if (tb[TCA_U32_SEL] && mnl_attr_get_payload_len(tb[TCA_U32_SEL]) >= sizeof(tc_u32_sel)) {
    const auto* data = static_cast<const uint8_t*>(mnl_attr_get_payload(tb[TCA_U32_SEL]));
    tc_u32_sel sel;
    std::memcpy(&sel, data, sizeof sel);
    size_t room = (mnl_attr_get_payload_len(tb[TCA_U32_SEL]) - sizeof sel) / sizeof(tc_u32_key);
    for (size_t i = 0; i < sel.nkeys && i < room; i++) {
      tc_u32_key key;
      std::memcpy(&key, data + sizeof sel + i * sizeof key, sizeof key);
      auto k = w.append("keys");
      k->set_u64("value", ntohl(key.val));
      k->set_u64("mask", ntohl(key.mask));
      k->set_i64("offset", key.off);
      if (key.offmask) k->set_i64("offmask", key.offmask);
    }
  }
  if (tb[TCA_U32_CLASSID])
    w.set_string("classid", handle_name(attr_u32(tb[TCA_U32_CLASSID]), HandleContext::ClassId));
  if (tb[TCA_U32_FLAGS]) write_cls_flags(attr_u32(tb[TCA_U32_FLAGS]), w);
  if (tb[TCA_U32_ACT]) decode_actions(tb[TCA_U32_ACT], w);
}

// A dump lists u32's hash tables too (node 0 of a handle): not filters anyone added.
bool is_filter(uint32_t handle) { return (handle & 0xFFF) != 0; }

}  // namespace

extern const FilterKind u32_filter = {"u32", encode, decode, is_filter};

}  // namespace netqos
