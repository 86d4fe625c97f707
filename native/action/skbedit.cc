// skbedit: set packet metadata (priority, mark, queue, packet type, priority from the DS field).
// Emits the attributes in the order iproute2's m_skbedit.c does.
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_skbedit.h>

#include <cstring>

#include "operation.h"
#include "registry.h"

namespace netqos {

namespace {

struct PacketType {
  const char* name;
  uint16_t value;
};
const PacketType kPacketTypes[] = {{"host", PACKET_HOST},
                                   {"broadcast", PACKET_BROADCAST},
                                   {"multicast", PACKET_MULTICAST},
                                   {"otherhost", PACKET_OTHERHOST}};

uint16_t read_ptype(const FieldReader& r) {
  if (r.is_string("ptype")) {
    auto s = r.string("ptype");
    for (const auto& t : kPacketTypes)
      if (*s == t.name) return t.value;
    r.fail("ptype", quote(*s) +
                        " is not a packet type (allowed: host, broadcast, multicast, "
                        "otherhost, or a PACKET_* number)");
  }
  return static_cast<uint16_t>(r.u64_in("ptype", 0, 0xFFFF, 0));
}

void encode(Message& m, const FieldReader& r) {
  bool has_priority = r.has("priority"), has_mark = r.has("mark"), has_mask = r.has("mask");
  bool has_queue = r.has("queueMapping"), has_ptype = r.has("ptype");
  bool inherit = r.boolean("inheritDsfield").value_or(false);
  // A class handle ("1:10") or its 32-bit number, as tc's get_tc_classid.
  uint32_t priority = parse_handle(r, "priority", HandleContext::ClassId, 0);
  auto mark = static_cast<uint32_t>(r.u64_in("mark", 0, 0xFFFFFFFFu, 0));
  auto mask = static_cast<uint32_t>(r.u64_in("mask", 0, 0xFFFFFFFFu, 0));
  auto queue = static_cast<uint16_t>(r.u64_in("queueMapping", 0, 0xFFFF, 0));
  uint16_t ptype = has_ptype ? read_ptype(r) : 0;
  if (has_mask && !has_mark) r.fail("mask", "needs mark (the mask selects the mark bits to set)");
  if (!has_priority && !has_mark && !has_queue && !has_ptype && !inherit && !r.has("index"))
    r.fail("an edit is required (priority, mark, queueMapping, ptype or inheritDsfield)");

  auto* p = static_cast<tc_skbedit*>(m.put_zeroed(TCA_SKBEDIT_PARMS, sizeof(tc_skbedit)));
  p->index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));
  p->action = parse_control(r, "control", TC_ACT_PIPE);  // tc's default
  if (has_queue) m.put_u16(TCA_SKBEDIT_QUEUE_MAPPING, queue);
  if (has_priority) m.put_u32(TCA_SKBEDIT_PRIORITY, priority);
  if (has_mark) m.put_u32(TCA_SKBEDIT_MARK, mark);
  if (has_mask) m.put_u32(TCA_SKBEDIT_MASK, mask);
  if (has_ptype) m.put_u16(TCA_SKBEDIT_PTYPE, ptype);
  if (inherit) m.put_u64(TCA_SKBEDIT_FLAGS, SKBEDIT_F_INHERITDSFIELD);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_SKBEDIT_MAX + 1];
  parse_nested(options, tb, TCA_SKBEDIT_MAX);
  if (!tb[TCA_SKBEDIT_PARMS] || mnl_attr_get_payload_len(tb[TCA_SKBEDIT_PARMS]) < sizeof(tc_skbedit)) return;
  tc_skbedit p;
  std::memcpy(&p, mnl_attr_get_payload(tb[TCA_SKBEDIT_PARMS]), sizeof p);
  auto has = [&](int type, size_t len) { return tb[type] && mnl_attr_get_payload_len(tb[type]) >= len; };
  if (has(TCA_SKBEDIT_PRIORITY, 4))
    w.set_string("priority", handle_name(attr_u32(tb[TCA_SKBEDIT_PRIORITY]), HandleContext::ClassId));
  if (has(TCA_SKBEDIT_MARK, 4)) w.set_u64("mark", attr_u32(tb[TCA_SKBEDIT_MARK]));
  if (has(TCA_SKBEDIT_MASK, 4)) w.set_u64("mask", attr_u32(tb[TCA_SKBEDIT_MASK]));
  if (has(TCA_SKBEDIT_QUEUE_MAPPING, 2)) w.set_u64("queueMapping", attr_u16(tb[TCA_SKBEDIT_QUEUE_MAPPING]));
  if (has(TCA_SKBEDIT_PTYPE, 2)) w.set_u64("ptype", attr_u16(tb[TCA_SKBEDIT_PTYPE]));
  if (has(TCA_SKBEDIT_FLAGS, 8) && (attr_u64(tb[TCA_SKBEDIT_FLAGS]) & SKBEDIT_F_INHERITDSFIELD))
    w.set_bool("inheritDsfield", true);
  w.set_string("control", control_name(p.action));
  w.set_u64("index", p.index);
}

}  // namespace

extern const ActionKind skbedit_action = {"skbedit", encode, decode};

}  // namespace netqos
