// fw: match the packet's firewall mark: the filter's handle is the mark, `mask` selects its bits
// (iproute2's f_fw.c: the mask, then the options in its order). Without any option tc sends none.
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>

#include "operation.h"
#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  if (!r.has("mask") && !r.has("classid") && !r.has("indev") && r.array_length("actions") == 0) return;
  nlattr* options = m.nest_start(TCA_OPTIONS);
  put_u32_field(m, r, "mask", TCA_FW_MASK);
  if (r.has("classid")) m.put_u32(TCA_FW_CLASSID, parse_handle(r, "classid", HandleContext::ClassId, 0));
  if (auto indev = r.string("indev")) {
    if (indev->empty() || indev->size() > 15) r.fail("indev", quote(*indev) + " is not an interface name");
    m.put_strz(TCA_FW_INDEV, *indev);
  }
  encode_actions(m, TCA_FW_ACT, r);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_FW_MAX + 1];
  parse_nested(options, tb, TCA_FW_MAX);
  get_uint_field(tb, TCA_FW_MASK, 4, w, "mask");
  if (tb[TCA_FW_CLASSID] && mnl_attr_get_payload_len(tb[TCA_FW_CLASSID]) >= 4)
    w.set_string("classid", handle_name(attr_u32(tb[TCA_FW_CLASSID]), HandleContext::ClassId));
  if (tb[TCA_FW_INDEV]) w.set_string("indev", attr_str(tb[TCA_FW_INDEV]));
  if (tb[TCA_FW_ACT]) decode_actions(tb[TCA_FW_ACT], w);
}

}  // namespace

extern const FilterKind fw_filter = {"fw", encode, decode, nullptr};

}  // namespace netqos
