// Reply and notification messages to objects: the generic part (tcmsg, kind, chain, statistics)
// here, the kind's options by its decoder (registry.h), links by link/link.cc.
#include "decode.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "link/link.h"
#include "registry.h"

namespace netqos {

uint32_t message_ifindex(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type == RTM_NEWLINK && has_header(nlh, sizeof(ifinfomsg)))
    return static_cast<uint32_t>(static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh))->ifi_index);
  if ((nlh->nlmsg_type == RTM_NEWQDISC || nlh->nlmsg_type == RTM_NEWTFILTER ||
       nlh->nlmsg_type == RTM_NEWTCLASS || nlh->nlmsg_type == RTM_NEWCHAIN) &&
      has_header(nlh, sizeof(tcmsg)))
    return static_cast<uint32_t>(static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh))->tcm_ifindex);
  return 0;
}

namespace {

// The interface's index where its name goes once known (lib/netlink names it): the object
// then has the field from the start, which keeps it in V8's compact form.
void put_dev(const tcmsg* tcm, FieldWriter& w) { w.set_u64("dev", static_cast<uint32_t>(tcm->tcm_ifindex)); }

// The tcmsg of a tc message, its attributes into tb; null when the message is too short for one.
const tcmsg* parse_tc(const nlmsghdr* nlh, const nlattr* (&tb)[TCA_MAX + 1]) {
  if (!has_header(nlh, NLMSG_ALIGN(sizeof(tcmsg)))) return nullptr;
  const auto* tcm = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
  parse_payload(reinterpret_cast<const uint8_t*>(tcm) + NLMSG_ALIGN(sizeof(tcmsg)),
                mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(tcmsg)), tb, TCA_MAX);
  return tcm;
}

// A class: its parent (a class, or "root" for a top-level one), its id, the qdisc attached to it
// (leaf), and the classful qdisc's own fields and statistics.
bool decode_class(const nlmsghdr* nlh, FieldWriter& w) {
  const nlattr* tb[TCA_MAX + 1];
  const tcmsg* tcm = parse_tc(nlh, tb);
  if (!tcm || !tb[TCA_KIND]) return false;
  std::string kind = attr_str(tb[TCA_KIND]);
  w.set_string("type", "class");
  w.set_u64("ifindex", static_cast<uint32_t>(tcm->tcm_ifindex));
  w.set_string("kind", kind);
  w.set_string("parent", handle_name(tcm->tcm_parent, HandleContext::ClassId));
  w.set_string("classid", handle_name(tcm->tcm_handle, HandleContext::ClassId));
  if (tcm->tcm_info) w.set_string("leaf", handle_name(tcm->tcm_info, HandleContext::Handle));
  const ClassKind* k = find_class_kind(kind);
  if (k && tb[TCA_OPTIONS]) k->decode(tb[TCA_OPTIONS], w);
  if (tb[TCA_STATS2]) decode_stats(tb[TCA_STATS2], w, k ? k->xstats : nullptr);
  put_dev(tcm, w);
  return true;
}

// A chain of a filter hook or classful qdisc, with its template if it has one. The kernel names
// the chain's block by its qdisc (ffff: for both clsact hooks): a dump names the parent it asked
// for instead (`parent`, when given).
bool decode_chain(const nlmsghdr* nlh, FieldWriter& w, const uint32_t* parent = nullptr) {
  const nlattr* tb[TCA_MAX + 1];
  const tcmsg* tcm = parse_tc(nlh, tb);
  if (!tcm || !tb[TCA_CHAIN]) return false;
  w.set_string("type", "chain");
  w.set_u64("ifindex", static_cast<uint32_t>(tcm->tcm_ifindex));
  w.set_string("parent", handle_name(parent ? *parent : tcm->tcm_parent, HandleContext::FilterParent));
  w.set_u64("chain", attr_u32(tb[TCA_CHAIN]));
  if (tb[TCA_KIND]) {
    std::string kind = attr_str(tb[TCA_KIND]);
    auto t = w.object("template");
    t->set_string("kind", kind);
    // No protocol from tcm_info: the kernel does not fill it in chain messages (the classifier's
    // options carry it).
    const FilterKind* k = find_filter_kind(kind);
    if (k && k->decode && tb[TCA_OPTIONS]) k->decode(tb[TCA_OPTIONS], *t);
  }
  put_dev(tcm, w);
  return true;
}

// Decodes a link, qdisc, class, filter, chain or action message of type `type` (a NEW type;
// deletions decode the same). With `deleted`, a filter message without a handle is kept: it
// stands for every filter of its priority and protocol.
bool decode_message(const nlmsghdr* nlh, uint16_t type, bool deleted, FieldWriter& w) {
  if (type == RTM_NEWLINK) return decode_link(nlh, w);
  if (type == RTM_NEWTCLASS) return decode_class(nlh, w);
  if (type == RTM_NEWCHAIN) return decode_chain(nlh, w);
  // Action dumps come back with the request's type (RTM_GETACTION), notifications as NEWACTION.
  if (type == RTM_NEWACTION || type == RTM_GETACTION) {
    if (!has_header(nlh, NLMSG_ALIGN(sizeof(tcamsg)))) return false;
    const nlattr* tb[TCA_ROOT_MAX + 1];
    parse_payload(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) + NLMSG_ALIGN(sizeof(tcamsg)),
                  mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(tcamsg)), tb, TCA_ROOT_MAX);
    w.set_string("type", "actions");
    if (tb[TCA_ACT_TAB]) decode_actions(tb[TCA_ACT_TAB], w);
    return true;
  }
  bool qdisc = type == RTM_NEWQDISC;
  if (!qdisc && type != RTM_NEWTFILTER) return false;
  const nlattr* tb[TCA_MAX + 1];
  const tcmsg* tcm = parse_tc(nlh, tb);
  if (!tcm || !tb[TCA_KIND]) return false;
  std::string kind = attr_str(tb[TCA_KIND]);
  w.set_string("type", qdisc ? "qdisc" : "filter");
  w.set_u64("ifindex", static_cast<uint32_t>(tcm->tcm_ifindex));
  w.set_string("kind", kind);
  if (qdisc) {
    w.set_string("parent", handle_name(tcm->tcm_parent, HandleContext::QdiscParent));
    w.set_string("handle", handle_name(tcm->tcm_handle, HandleContext::Handle));
    const QdiscKind* k = find_qdisc_kind(kind);
    if (k && k->decode) k->decode(tb[TCA_OPTIONS], w);
    if (tb[TCA_STATS2]) decode_stats(tb[TCA_STATS2], w, k ? k->xstats : nullptr);
    put_dev(tcm, w);
    return true;
  }
  // Each priority's classifier instance is listed first with handle 0 and no options, and u32
  // also lists its hash tables (node 0): neither is a filter anyone added.
  bool whole_priority = tcm->tcm_handle == 0 && !tb[TCA_OPTIONS];
  if (whole_priority && !deleted) return false;
  const FilterKind* k = find_filter_kind(kind);
  if (!whole_priority && k && k->is_filter && !k->is_filter(tcm->tcm_handle)) return false;
  w.set_string("parent", handle_name(tcm->tcm_parent, HandleContext::FilterParent));
  w.set_u64("priority", TC_H_MAJ(tcm->tcm_info) >> 16);
  w.set_string("protocol", protocol_name(ntohs(static_cast<uint16_t>(TC_H_MIN(tcm->tcm_info)))));
  w.set_u64("handle", tcm->tcm_handle);
  w.set_u64("chain", tb[TCA_CHAIN] ? attr_u32(tb[TCA_CHAIN]) : 0);
  if (k && k->decode && tb[TCA_OPTIONS]) k->decode(tb[TCA_OPTIONS], w);
  put_dev(tcm, w);
  return true;
}

}  // namespace

bool decode_object(const nlmsghdr* nlh, FieldWriter& w) {
  return decode_message(nlh, nlh->nlmsg_type, false, w);
}

bool decode_reply(const DumpRequest& req, const nlmsghdr* nlh, FieldWriter& w) {
  if (req.kind == DumpKind::Chain && nlh->nlmsg_type == RTM_NEWCHAIN)
    return decode_chain(nlh, w, &req.parent);
  if (!req.names_only || nlh->nlmsg_type != RTM_NEWLINK) return decode_object(nlh, w);
  if (!has_header(nlh, NLMSG_ALIGN(sizeof(ifinfomsg)))) return false;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  size_t head = NLMSG_ALIGN(sizeof(ifinfomsg));
  w.set_string("type", "link");
  w.set_u64("index", static_cast<uint32_t>(ifi->ifi_index));
  for_each_attr(reinterpret_cast<const uint8_t*>(ifi) + head, mnl_nlmsg_get_payload_len(nlh) - head,
                [&](const nlattr* attr) {
                  if (mnl_attr_get_type(attr) == IFLA_IFNAME) w.set_string("name", attr_str(attr));
                });
  return true;
}

bool decode_event(const nlmsghdr* nlh, FieldWriter& w) {
  uint16_t type = nlh->nlmsg_type;
  bool deleted =
      type == RTM_DELLINK || type == RTM_DELQDISC || type == RTM_DELTFILTER || type == RTM_DELACTION;
  if (deleted) type = static_cast<uint16_t>(type - 1);  // each DEL type follows its NEW type
  if (type != RTM_NEWLINK && type != RTM_NEWQDISC && type != RTM_NEWTFILTER && type != RTM_NEWACTION)
    return false;
  w.set_string("event", deleted ? "del" : "new");
  // A filter notification shows the request's flags. Only a create-exclusive one is sure to
  // describe a new filter: a u32 replaced in place is announced with its old contents.
  if (type == RTM_NEWTFILTER)
    w.set_bool("created", (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));
  return decode_message(nlh, type, deleted, w);
}

}  // namespace netqos
