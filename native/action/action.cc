// The action list shared by every classifier: nesting, kind, cookie, and statistics.
#include <linux/gen_stats.h>
#include <linux/pkt_cls.h>

#include <cstring>

#include "registry.h"

namespace netqos {

void encode_actions(Message& m, uint16_t type, const FieldReader& r) {
  size_t count = r.array_length("actions");
  if (count == 0) return;
  if (count > TCA_ACT_MAX_PRIO)
    r.fail("actions",
           "has " + std::to_string(count) + " actions (at most " + std::to_string(TCA_ACT_MAX_PRIO) + ")");
  nlattr* list = m.nest_start(type);
  for (size_t i = 0; i < count; i++) {
    auto a = r.element("actions", i);
    auto kind_name = a->string("kind");
    if (!kind_name) a->fail("kind", "is required (" + action_kind_names() + ")");
    const ActionKind* kind = find_action_kind(*kind_name);
    if (!kind)
      a->fail("kind", quote(*kind_name) +
                          " is not an action kind netqos knows (allowed: " + action_kind_names() + ")");
    nlattr* slot = m.nest_start(static_cast<uint16_t>(i + 1));
    m.put_strz(TCA_ACT_KIND, kind->name);
    nlattr* options = m.nest_start(TCA_ACT_OPTIONS | NLA_F_NESTED);
    kind->encode(m, *a);
    m.nest_end(options);
    auto cookie = parse_hex(*a, "cookie", TC_COOKIE_MAX_SIZE);
    if (!cookie.empty()) m.put(TCA_ACT_COOKIE, cookie.data(), cookie.size());
    m.nest_end(slot);
  }
  m.nest_end(list);
}

void decode_actions(const nlattr* list, FieldWriter& w) {
  for_each_nested(list, [&](const nlattr* slot) {
    const nlattr* tb[TCA_ACT_MAX + 1];
    parse_nested(slot, tb, TCA_ACT_MAX);
    if (!tb[TCA_ACT_KIND]) return;
    auto a = w.append("actions");
    std::string kind = attr_str(tb[TCA_ACT_KIND]);
    a->set_string("kind", kind);
    const ActionKind* k = find_action_kind(kind);
    if (k && tb[TCA_ACT_OPTIONS]) k->decode(tb[TCA_ACT_OPTIONS], *a);
    if (tb[TCA_ACT_COOKIE])
      a->set_string("cookie", to_hex(mnl_attr_get_payload(tb[TCA_ACT_COOKIE]),
                                     mnl_attr_get_payload_len(tb[TCA_ACT_COOKIE])));
    if (tb[TCA_ACT_STATS]) decode_stats(tb[TCA_ACT_STATS], *a);
  });
}

void decode_stats(const nlattr* stats2, FieldWriter& w, XstatsDecoder xstats) {
  const nlattr* tb[TCA_STATS_MAX + 1];
  parse_nested(stats2, tb, TCA_STATS_MAX);
  auto s = w.object("stats");
  uint64_t bytes = 0, packets = 0;
  if (tb[TCA_STATS_BASIC] && mnl_attr_get_payload_len(tb[TCA_STATS_BASIC]) >= sizeof(gnet_stats_basic)) {
    gnet_stats_basic basic;
    std::memcpy(&basic, mnl_attr_get_payload(tb[TCA_STATS_BASIC]), sizeof basic);
    bytes = basic.bytes;
    packets = basic.packets;
  }
  if (tb[TCA_STATS_PKT64]) packets = attr_u64(tb[TCA_STATS_PKT64]);
  s->set_u64("bytes", bytes);
  s->set_u64("packets", packets);
  gnet_stats_queue queue{};
  if (tb[TCA_STATS_QUEUE] && mnl_attr_get_payload_len(tb[TCA_STATS_QUEUE]) >= sizeof queue)
    std::memcpy(&queue, mnl_attr_get_payload(tb[TCA_STATS_QUEUE]), sizeof queue);
  s->set_u64("drops", queue.drops);
  s->set_u64("overlimits", queue.overlimits);
  s->set_u64("requeues", queue.requeues);
  s->set_u64("backlog", queue.backlog);
  s->set_u64("qlen", queue.qlen);
  if (xstats && tb[TCA_STATS_APP]) xstats(tb[TCA_STATS_APP], *s->object("xstats"));
}

}  // namespace netqos
