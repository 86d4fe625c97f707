// Read requests: checked from the caller's fields, encoded as dumps or link gets (never a qdisc
// get, which the kernel announces to every tc listener), and which reply messages each wants.
#include "dump_request.h"

#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "decode.h"
#include "registry.h"

namespace netqos {

DumpRequest read_dump_request(const FieldReader& r) {
  DumpRequest req;
  auto type = r.string("type");
  if (!type) r.fail("type", "is required (qdisc, class, filter, chain, link or action)");
  if (*type == "qdisc")
    req.kind = DumpKind::Qdisc;
  else if (*type == "filter")
    req.kind = DumpKind::Filter;
  else if (*type == "link")
    req.kind = DumpKind::Link;
  else if (*type == "action")
    req.kind = DumpKind::Action;
  else if (*type == "class")
    req.kind = DumpKind::Class;
  else if (*type == "chain")
    req.kind = DumpKind::Chain;
  else
    r.fail("type", quote(*type) + " is not dumpable (allowed: qdisc, class, filter, chain, link, action)");
  if (auto dev = r.iface("dev")) req.dev = *dev;
  if (auto optional = r.boolean("optional")) req.optional = *optional;
  if (auto stats = r.boolean("stats")) req.stats = *stats;
  if (auto names = r.boolean("namesOnly")) {
    if (*names && req.kind != DumpKind::Link) r.fail("namesOnly", "is for links only");
    req.names_only = *names;
  }
  if (req.kind == DumpKind::Qdisc && r.has("parent")) {
    if (!r.iface("dev")) r.fail("dev", "is required to get the qdisc at a parent");
    req.parent = parse_handle(r, "parent", HandleContext::QdiscParent, 0);
    req.has_parent = true;
  }
  if (req.kind == DumpKind::Class && !r.iface("dev")) r.fail("dev", "is required to list classes");
  if (req.kind == DumpKind::Chain) {
    if (!r.iface("dev")) r.fail("dev", "is required to list chains");
    if (!r.has("parent")) r.fail("parent", "is required to list chains (ingress, egress, root, or a handle)");
    req.parent = parse_handle(r, "parent", HandleContext::FilterParent, 0);
  }
  if (req.kind == DumpKind::Filter) {
    if (!r.iface("dev")) r.fail("dev", "is required to list filters");
    if (!r.has("parent"))
      r.fail("parent", "is required to list filters (ingress, egress, root, or a handle)");
    req.parent = parse_handle(r, "parent", HandleContext::FilterParent, 0);
  }
  if (req.kind == DumpKind::Action) {
    auto kind = r.string("kind");
    if (!kind) r.fail("kind", "is required to list actions (e.g. \"mirred\")");
    if (!find_action_kind(*kind))
      r.fail("kind",
             quote(*kind) + " is not an action kind netqos knows (allowed: " + action_kind_names() + ")");
    req.action_kind = *kind;
    if (r.has("index")) {
      req.action_index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));
      req.has_index = true;
    }
    if (auto load = r.boolean("load")) req.load = *load;
    if (req.load && req.has_index) r.fail("load", "and index exclude each other");
  }
  if (req.kind == DumpKind::Link) {
    if (auto kind = r.string("kind")) {
      if (req.get()) r.fail("kind", "lists links of a kind: give it without dev");
      if (kind->empty() || kind->size() >= 64) r.fail("kind", quote(*kind) + " is not a link kind");
      req.link_kind = *kind;
    }
  }
  return req;
}

void encode_dump(Batch& batch, const DumpRequest& req) {
  if (req.kind == DumpKind::Action) {
    // A dump of one kind's actions, a get of one (answered by it or by an error), or the
    // RTM_NEWACTION without options that only loads the kind's module (acknowledged: refused).
    Message m(batch, req.load ? RTM_NEWACTION : RTM_GETACTION,
              req.load        ? NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
              : req.has_index ? 0
                              : NLM_F_DUMP);
    auto* tca = static_cast<tcamsg*>(m.put_extra_header(sizeof(tcamsg)));
    tca->tca_family = AF_UNSPEC;
    nlattr* tab = m.nest_start(TCA_ACT_TAB);
    nlattr* first = m.nest_start(1);
    m.put_strz(TCA_ACT_KIND, req.action_kind);
    if (req.has_index) m.put_u32(TCA_ACT_INDEX, req.action_index);
    m.nest_end(first);
    m.nest_end(tab);
    m.finish();
    return;
  }
  if (req.get()) {
    // Answered (to the asker only) by the link or an error.
    Message m(batch, RTM_GETLINK, 0);
    auto* ifi = static_cast<ifinfomsg*>(m.put_extra_header(sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = static_cast<int>(req.dev.index);
    m.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    if (req.dev.by_name()) m.put_strz(IFLA_IFNAME, req.dev.name);
    m.finish();
    return;
  }
  switch (req.kind) {
    case DumpKind::Qdisc: {
      Message m(batch, RTM_GETQDISC, NLM_F_DUMP);
      auto* tcm = static_cast<tcmsg*>(m.put_extra_header(sizeof(tcmsg)));
      tcm->tcm_family = AF_UNSPEC;
      m.finish();
      break;
    }
    case DumpKind::Filter:
    case DumpKind::Class:
    case DumpKind::Chain: {
      // The kernel lists one interface's objects (filters and chains: of one parent; classes: of
      // every qdisc), whether the socket checks strictly or not.
      Message m(batch,
                req.kind == DumpKind::Filter  ? RTM_GETTFILTER
                : req.kind == DumpKind::Class ? RTM_GETTCLASS
                                              : RTM_GETCHAIN,
                NLM_F_DUMP);
      auto* tcm = static_cast<tcmsg*>(m.put_extra_header(sizeof(tcmsg)));
      tcm->tcm_family = AF_UNSPEC;
      m.put_ifindex_at(&tcm->tcm_ifindex, req.dev);
      tcm->tcm_parent = req.parent;
      m.finish();
      break;
    }
    case DumpKind::Link: {
      Message m(batch, RTM_GETLINK, NLM_F_DUMP);
      auto* ifi = static_cast<ifinfomsg*>(m.put_extra_header(sizeof(ifinfomsg)));
      ifi->ifi_family = AF_UNSPEC;
      m.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
      if (!req.link_kind.empty()) {
        // rtnl_dump_ifinfo lists only links of this kind (strictly checked or not).
        nlattr* info = m.nest_start(IFLA_LINKINFO);
        m.put_strz(IFLA_INFO_KIND, req.link_kind);
        m.nest_end(info);
      }
      m.finish();
      break;
    }
    case DumpKind::Action:
      break;  // above
  }
}

bool dump_wants(const DumpRequest& req, uint32_t ifindex, const nlmsghdr* nlh) {
  if (ifindex && message_ifindex(nlh) != ifindex) return false;
  if (req.kind == DumpKind::Qdisc) {
    if (nlh->nlmsg_type != RTM_NEWQDISC || !has_header(nlh, sizeof(tcmsg))) return false;
    if (req.has_parent && static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh))->tcm_parent != req.parent)
      return false;
  }
  return true;
}

}  // namespace netqos
