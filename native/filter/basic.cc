// basic: match through an ematch tree; netqos offers flat lists of cmp ematches (compare a u8,
// u16 or u32 at an offset of the link, network or transport header, masked, with eq, gt or lt),
// each joined to the next by "and" or "or", each optionally inverted (iproute2's f_basic.c and
// em_cmp.c: the ematches, then classid and actions as given).
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <linux/tc_ematch/tc_em_cmp.h>

#include <cstring>

#include "operation.h"
#include "registry.h"

namespace netqos {

namespace {

const NamedValue kAligns[] = {{"u8", TCF_EM_ALIGN_U8}, {"u16", TCF_EM_ALIGN_U16}, {"u32", TCF_EM_ALIGN_U32}};
const NamedValue kLayers[] = {
    {"link", TCF_LAYER_LINK}, {"network", TCF_LAYER_NETWORK}, {"transport", TCF_LAYER_TRANSPORT}};
const NamedValue kOps[] = {{"eq", TCF_EM_OPND_EQ}, {"gt", TCF_EM_OPND_GT}, {"lt", TCF_EM_OPND_LT}};
const NamedValue kRelations[] = {{"and", TCF_EM_REL_AND}, {"or", TCF_EM_REL_OR}};

void encode_matches(Message& m, const FieldReader& r) {
  size_t n = r.array_length("matches");
  if (n == 0) return;
  if (n > 64) r.fail("matches", "has " + std::to_string(n) + " ematches (at most 64)");
  nlattr* tree = m.nest_start(TCA_BASIC_EMATCHES);
  tcf_ematch_tree_hdr head{static_cast<uint16_t>(n), 0};
  m.put(TCA_EMATCH_TREE_HDR, &head, sizeof head);
  nlattr* list = m.nest_start(TCA_EMATCH_TREE_LIST);
  for (size_t i = 0; i < n; i++) {
    auto e = r.element("matches", i);
    std::string kind = e->string("kind").value_or("cmp");
    if (kind != "cmp") e->fail("kind", quote(kind) + " is not an ematch netqos knows (allowed: cmp)");
    uint32_t relation = read_named(*e, "relation", kRelations, TCF_EM_REL_END);
    if (i + 1 < n && relation == TCF_EM_REL_END)
      e->fail("relation", "is required between ematches (and, or)");
    if (i + 1 == n && relation != TCF_EM_REL_END) e->fail("relation", "the last ematch has none");
    tcf_ematch_hdr hdr{};
    hdr.kind = TCF_EM_CMP;
    hdr.flags = static_cast<uint16_t>(relation | (e->boolean("invert").value_or(false) ? TCF_EM_INVERT : 0));
    tcf_em_cmp cmp{};
    uint32_t align = read_named(*e, "align", kAligns, 0);
    if (!align) e->fail("align", "is required (u8, u16 or u32)");
    if (!e->has("offset")) e->fail("offset", "is required (bytes from the start of the layer)");
    if (!e->has("value")) e->fail("value", "is required");
    uint64_t max = align == TCF_EM_ALIGN_U8 ? 0xFF : align == TCF_EM_ALIGN_U16 ? 0xFFFF : 0xFFFFFFFFu;
    cmp.val = static_cast<uint32_t>(e->u64_in("value", 0, max, 0));
    cmp.mask = static_cast<uint32_t>(e->u64_in("mask", 0, max, 0));
    cmp.off = static_cast<uint16_t>(e->u64_in("offset", 0, 0xFFFF, 0));
    cmp.align = static_cast<uint8_t>(align);
    cmp.flags = e->boolean("trans").value_or(false) ? TCF_EM_CMP_TRANS : 0;
    if (e->has("layer") && !e->string("layer"))
      cmp.layer = static_cast<uint8_t>(e->u64_in("layer", 0, TCF_LAYER_MAX, 0));
    else
      cmp.layer = static_cast<uint8_t>(read_named(*e, "layer", kLayers, TCF_LAYER_NETWORK));
    cmp.opnd = static_cast<uint8_t>(read_named(*e, "op", kOps, TCF_EM_OPND_EQ));
    nlattr* item = m.nest_start(static_cast<uint16_t>(i + 1));
    m.put_raw(&hdr, sizeof hdr);
    m.put_raw(&cmp, sizeof cmp);
    m.nest_end(item);
  }
  m.nest_end(list);
  m.nest_end(tree);
}

void encode(Message& m, const FieldReader& r) {
  nlattr* options = m.nest_start(TCA_OPTIONS);
  encode_matches(m, r);
  if (r.has("classid")) m.put_u32(TCA_BASIC_CLASSID, parse_handle(r, "classid", HandleContext::ClassId, 0));
  encode_actions(m, TCA_BASIC_ACT, r);
  m.nest_end(options);
}

void decode_matches(const nlattr* tree, FieldWriter& w) {
  const nlattr* tb[TCA_EMATCH_TREE_MAX + 1];
  parse_nested(tree, tb, TCA_EMATCH_TREE_MAX);
  if (!tb[TCA_EMATCH_TREE_LIST]) return;
  for_each_nested(tb[TCA_EMATCH_TREE_LIST], [&](const nlattr* item) {
    if (mnl_attr_get_payload_len(item) < sizeof(tcf_ematch_hdr)) return;
    tcf_ematch_hdr hdr;
    const auto* data = static_cast<const uint8_t*>(mnl_attr_get_payload(item));
    std::memcpy(&hdr, data, sizeof hdr);
    auto e = w.append("matches");
    if (const char* rel = name_of(kRelations, hdr.flags & TCF_EM_REL_MASK)) e->set_string("relation", rel);
    if (hdr.flags & TCF_EM_INVERT) e->set_bool("invert", true);
    if (hdr.kind != TCF_EM_CMP || mnl_attr_get_payload_len(item) < sizeof hdr + sizeof(tcf_em_cmp)) {
      e->set_u64("kind", hdr.kind);  // an ematch netqos does not decode
      return;
    }
    tcf_em_cmp cmp;
    std::memcpy(&cmp, data + sizeof hdr, sizeof cmp);
    e->set_string("kind", "cmp");
    if (const char* align = name_of(kAligns, cmp.align)) e->set_string("align", align);
    e->set_u64("offset", cmp.off);
    if (const char* layer = name_of(kLayers, cmp.layer))
      e->set_string("layer", layer);
    else
      e->set_u64("layer", cmp.layer);
    if (cmp.mask) e->set_u64("mask", cmp.mask);
    if (const char* op = name_of(kOps, cmp.opnd)) e->set_string("op", op);
    e->set_u64("value", cmp.val);
    if (cmp.flags & TCF_EM_CMP_TRANS) e->set_bool("trans", true);
  });
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_BASIC_MAX + 1];
  parse_nested(options, tb, TCA_BASIC_MAX);
  if (tb[TCA_BASIC_EMATCHES]) decode_matches(tb[TCA_BASIC_EMATCHES], w);
  if (tb[TCA_BASIC_CLASSID] && mnl_attr_get_payload_len(tb[TCA_BASIC_CLASSID]) >= 4)
    w.set_string("classid", handle_name(attr_u32(tb[TCA_BASIC_CLASSID]), HandleContext::ClassId));
  if (tb[TCA_BASIC_ACT]) decode_actions(tb[TCA_BASIC_ACT], w);
}

}  // namespace

extern const FilterKind basic_filter = {"basic", encode, decode, nullptr};

}  // namespace netqos
