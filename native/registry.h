// The tables that register each tc kind, as iproute2's qdisc_util/filter_util/action_util do.
// Adding a kind means one file that defines a *Kind and one line in registry.cc.
#pragma once

#include <linux/netlink.h>

#include <cstring>
#include <string>
#include <vector>

#include "attr_fields.h"
#include "fields.h"
#include "message.h"
#include "psched.h"
#include "tc_util.h"

namespace netqos {

// Decodes a kind's extended statistics (the payload of TCA_STATS_APP) into w.
using XstatsDecoder = void (*)(const nlattr* app, FieldWriter& w);

struct QdiscKind {
  const char* name;
  // Fixed parent and handle for kinds that have them (ingress, clsact); 0 when free.
  uint32_t fixed_parent;
  uint32_t fixed_handle;
  // Appends TCA_OPTIONS for add/replace/change (nothing for kinds without options).
  void (*encode)(Message& m, const FieldReader& r);
  // Decodes TCA_OPTIONS (may be null) into the object's fields.
  void (*decode)(const nlattr* options, FieldWriter& w);
  // Its extended statistics (null: none decoded).
  XstatsDecoder xstats;
};

// The classes of a classful qdisc (RTM_NEWTCLASS), registered under the qdisc's kind name.
struct ClassKind {
  const char* name;
  // Appends TCA_OPTIONS for add/replace/change.
  void (*encode)(Message& m, const FieldReader& r);
  void (*decode)(const nlattr* options, FieldWriter& w);
  XstatsDecoder xstats;
};

struct FilterKind {
  const char* name;
  void (*encode)(Message& m, const FieldReader& r);
  void (*decode)(const nlattr* options, FieldWriter& w);
  // Whether a dumped message with this handle is a filter someone added (u32 also lists its
  // hash tables); null: every one is.
  bool (*is_filter)(uint32_t handle);
};

struct ActionKind {
  const char* name;
  // Writes the contents of TCA_ACT_OPTIONS.
  void (*encode)(Message& m, const FieldReader& r);
  void (*decode)(const nlattr* options, FieldWriter& w);
};

const QdiscKind* find_qdisc_kind(const std::string& name);
const ClassKind* find_class_kind(const std::string& name);
const FilterKind* find_filter_kind(const std::string& name);
const ActionKind* find_action_kind(const std::string& name);
// Every registered kind's name, in table order.
std::vector<std::string> qdisc_kinds();
std::vector<std::string> class_kinds();
std::vector<std::string> filter_kinds();
std::vector<std::string> action_kinds();
// "tbf, ingress, clsact" for messages.
std::string qdisc_kind_names();
std::string class_kind_names();
std::string filter_kind_names();
std::string action_kind_names();

// The ordered action list of a filter (or a standalone action message): reads r's "actions"
// array and writes nest(type){ nest(1){KIND, OPTIONS, COOKIE?}, nest(2){...} }.
void encode_actions(Message& m, uint16_t type, const FieldReader& r);
// Decodes such a list into w's "actions" array, with per-action statistics.
void decode_actions(const nlattr* list, FieldWriter& w);

// The tc_gen head every action's parameters start with: index and control (`fallback`, the
// kind's tc default, when not given), both ways.
template <typename Parms>
void read_action_head(const FieldReader& r, Parms& p, int32_t fallback) {
  p.index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));
  p.action = parse_control(r, "control", fallback);
}
template <typename Parms>
void write_action_head(const Parms& p, FieldWriter& w) {
  w.set_string("control", control_name(p.action));
  w.set_u64("index", p.index);
}
// The parameters struct of an action (its tc_gen head and the rest) from tb[type], if whole.
template <typename Parms>
bool read_parms(const nlattr* const* tb, int type, Parms& p) {
  if (!tb[type] || mnl_attr_get_payload_len(tb[type]) < sizeof p) return false;
  std::memcpy(&p, mnl_attr_get_payload(tb[type]), sizeof p);
  return true;
}

// gnet statistics (TCA_STATS2 or TCA_ACT_STATS) into w's "stats" object, with the kind's
// extended statistics (TCA_STATS_APP) as its "xstats" object when `xstats` is given.
void decode_stats(const nlattr* stats2, FieldWriter& w, XstatsDecoder xstats = nullptr);

}  // namespace netqos
