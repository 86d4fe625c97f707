#include "operation.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstdio>

#include "link/link.h"
#include "registry.h"

namespace netqos {

namespace {

enum class Verb { Add, Replace, Change, Delete };

Verb read_verb(const FieldReader& op) {
  auto s = op.string("op");
  if (!s) op.fail("op", "is required (add, replace, change or delete)");
  if (*s == "add") return Verb::Add;
  if (*s == "replace") return Verb::Replace;
  if (*s == "change") return Verb::Change;
  if (*s == "delete") return Verb::Delete;
  op.fail("op", quote(*s) + " is not an operation (allowed: add, replace, change, delete)");
}

IfRef require_dev(const FieldReader& r) {
  auto dev = r.iface("dev");
  if (!dev) r.fail("dev", "is required (an interface name or index)");
  return *dev;
}

uint16_t new_flags(Verb verb) {
  switch (verb) {
    case Verb::Add:
      return NLM_F_CREATE | NLM_F_EXCL;
    case Verb::Replace:
      return NLM_F_CREATE | NLM_F_REPLACE;
    default:
      return 0;
  }
}

// Filters and classes: tc's "replace" creates the object or changes the one there (NLM_F_CREATE
// only, no NLM_F_REPLACE).
uint16_t create_flags(Verb verb) {
  return verb == Verb::Add ? NLM_F_CREATE | NLM_F_EXCL : verb == Verb::Replace ? NLM_F_CREATE : 0;
}

// The registered kind r's "kind" names (`family` for messages: "a qdisc"); null when absent and
// `optional` (a deletion needs none).
template <typename Kind>
const Kind* read_kind(const FieldReader& r, bool optional, const Kind* (*find)(const std::string&),
                      std::string (*names)(), const char* family) {
  auto name = r.string("kind");
  if (!name) {
    if (!optional) r.fail("kind", "is required (" + names() + ")");
    return nullptr;
  }
  const Kind* kind = find(*name);
  if (!kind)
    r.fail("kind", quote(*name) + " is not " + family + " kind netqos knows (allowed: " + names() + ")");
  return kind;
}

void encode_qdisc(Batch& batch, Verb verb, const FieldReader& r) {
  const QdiscKind* kind = read_kind(r, verb == Verb::Delete, find_qdisc_kind, qdisc_kind_names, "a qdisc");
  IfRef dev = require_dev(r);
  Message m(batch, verb == Verb::Delete ? RTM_DELQDISC : RTM_NEWQDISC, NLM_F_ACK | new_flags(verb));
  auto* tcm = static_cast<tcmsg*>(m.put_extra_header(sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  m.put_ifindex_at(&tcm->tcm_ifindex, dev);
  tcm->tcm_parent = kind && kind->fixed_parent
                        ? kind->fixed_parent
                        : parse_handle(r, "parent", HandleContext::QdiscParent, TC_H_ROOT);
  tcm->tcm_handle =
      kind && kind->fixed_handle ? kind->fixed_handle : parse_handle(r, "handle", HandleContext::Handle, 0);
  if (kind) m.put_strz(TCA_KIND, kind->name);
  if (kind && verb != Verb::Delete && kind->encode) kind->encode(m, r);
  m.finish();
}

void encode_filter(Batch& batch, Verb verb, const FieldReader& r) {
  if (verb == Verb::Change) r.fail("op", "\"change\" is not supported for filters (use replace)");
  const FilterKind* kind =
      read_kind(r, verb == Verb::Delete, find_filter_kind, filter_kind_names, "a classifier");
  IfRef dev = require_dev(r);
  if (!r.has("parent"))
    r.fail("parent", "is required (ingress, egress, root or a qdisc handle such as \"ffff:\")");
  uint32_t parent = parse_handle(r, "parent", HandleContext::FilterParent, 0);
  uint32_t priority = static_cast<uint32_t>(r.u64_in("priority", 0, 0xFFFF, 0));
  uint16_t protocol = read_protocol(r, verb == Verb::Delete ? 0 : ETH_P_ALL);
  Message m(batch, verb == Verb::Delete ? RTM_DELTFILTER : RTM_NEWTFILTER, NLM_F_ACK | create_flags(verb));
  auto* tcm = static_cast<tcmsg*>(m.put_extra_header(sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  m.put_ifindex_at(&tcm->tcm_ifindex, dev);
  tcm->tcm_parent = parent;
  tcm->tcm_handle = static_cast<uint32_t>(r.u64_in("handle", 0, 0xFFFFFFFFu, 0));
  tcm->tcm_info = TC_H_MAKE(priority << 16, htons(protocol));
  if (auto chain = r.u64("chain")) {
    if (*chain > 0xFFFFFFFFu) r.fail("chain", std::to_string(*chain) + " is out of range");
    m.put_u32(TCA_CHAIN, static_cast<uint32_t>(*chain));
  }
  if (kind) m.put_strz(TCA_KIND, kind->name);
  if (kind && verb != Verb::Delete) kind->encode(m, r);
  m.finish();
}

void encode_class(Batch& batch, Verb verb, const FieldReader& r) {
  const ClassKind* kind =
      read_kind(r, verb == Verb::Delete, find_class_kind, class_kind_names, "a classful qdisc");
  IfRef dev = require_dev(r);
  if (!r.has("classid")) r.fail("classid", "is required (the class, \"MAJOR:MINOR\" such as \"1:10\")");
  Message m(batch, verb == Verb::Delete ? RTM_DELTCLASS : RTM_NEWTCLASS, NLM_F_ACK | create_flags(verb));
  auto* tcm = static_cast<tcmsg*>(m.put_extra_header(sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  m.put_ifindex_at(&tcm->tcm_ifindex, dev);
  tcm->tcm_handle = parse_handle(r, "classid", HandleContext::ClassId, 0);
  // A top-level class names its qdisc ("1:"); HTB also takes "root" for it (HFSC does not).
  tcm->tcm_parent = parse_handle(r, "parent", HandleContext::ClassId, 0);
  if (kind) m.put_strz(TCA_KIND, kind->name);
  if (kind && verb != Verb::Delete) kind->encode(m, r);
  m.finish();
}

// A filter chain of a hook or classful qdisc, created empty (or with a classifier template that
// every filter of the chain must fit) or deleted with its filters, as `tc chain` does.
void encode_chain(Batch& batch, Verb verb, const FieldReader& r) {
  if (verb != Verb::Add && verb != Verb::Delete) r.fail("op", "chains support add and delete");
  IfRef dev = require_dev(r);
  if (!r.has("parent"))
    r.fail("parent", "is required (ingress, egress, root or a qdisc handle such as \"1:\")");
  if (!r.has("chain")) r.fail("chain", "is required (the chain index, 0..4294967295)");
  auto chain = static_cast<uint32_t>(r.u64_in("chain", 0, 0xFFFFFFFFu, 0));
  auto tmpl = r.object("template");
  if (tmpl && verb == Verb::Delete) r.fail("template", "is for add only");
  const FilterKind* kind =
      tmpl ? read_kind(*tmpl, false, find_filter_kind, filter_kind_names, "a classifier") : nullptr;
  if (tmpl && tmpl->array_length("actions")) tmpl->fail("actions", "a template holds keys only");
  Message m(batch, verb == Verb::Delete ? RTM_DELCHAIN : RTM_NEWCHAIN,
            NLM_F_ACK | (verb == Verb::Add ? NLM_F_CREATE | NLM_F_EXCL : 0));
  auto* tcm = static_cast<tcmsg*>(m.put_extra_header(sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  m.put_ifindex_at(&tcm->tcm_ifindex, dev);
  tcm->tcm_parent = parse_handle(r, "parent", HandleContext::FilterParent, 0);
  tcm->tcm_info = TC_H_MAKE(0, htons(tmpl ? read_protocol(*tmpl, 0) : 0));
  m.put_u32(TCA_CHAIN, chain);
  if (kind) {
    m.put_strz(TCA_KIND, kind->name);
    kind->encode(m, *tmpl);
  }
  m.finish();
}

}  // namespace

void encode_operation(Batch& batch, const FieldReader& op) {
  size_t size = batch.buf.size(), fixups = batch.fixups.size(), count = batch.starts.size();
  size_t fds = batch.fds.size();
  try {
    Verb verb = read_verb(op);
    // One object per operation: with two, which one the caller meant is a guess.
    int objects = op.has("qdisc") + op.has("class") + op.has("filter") + op.has("chain") + op.has("link");
    if (objects > 1) op.fail("an operation carries one of qdisc, class, filter, chain or link, not several");
    if (auto q = op.object("qdisc")) {
      encode_qdisc(batch, verb, *q);
    } else if (auto f = op.object("filter")) {
      encode_filter(batch, verb, *f);
    } else if (auto c = op.object("class")) {
      encode_class(batch, verb, *c);
    } else if (auto c = op.object("chain")) {
      encode_chain(batch, verb, *c);
    } else if (auto l = op.object("link")) {
      if (verb == Verb::Replace) op.fail("op", "links support add, change and delete");
      encode_link(batch,
                  verb == Verb::Add      ? LinkVerb::Add
                  : verb == Verb::Change ? LinkVerb::Change
                                         : LinkVerb::Delete,
                  *l);
    } else {
      op.fail("qdisc", "an operation needs one of qdisc, class, filter, chain or link");
    }
  } catch (...) {
    batch.buf.set_size(size);
    batch.fixups.resize(fixups);
    batch.starts.resize(count);
    batch.fds.resize(fds);
    throw;
  }
}

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
  }
  return req;
}

namespace {

// RTM_GETACTION for one kind: a dump of its actions, or (with an index) a get of one, answered
// only to the asker (no notification) and acknowledged.
void encode_action_request(Batch& batch, const DumpRequest& req) {
  Message m(batch, RTM_GETACTION, req.has_index ? NLM_F_ACK : NLM_F_DUMP);
  auto* tca = static_cast<tcamsg*>(m.put_extra_header(sizeof(tcamsg)));
  tca->tca_family = AF_UNSPEC;
  nlattr* tab = m.nest_start(TCA_ACT_TAB);
  nlattr* first = m.nest_start(1);
  m.put_strz(TCA_ACT_KIND, req.action_kind);
  if (req.has_index) m.put_u32(TCA_ACT_INDEX, req.action_index);
  m.nest_end(first);
  m.nest_end(tab);
  m.finish();
}

}  // namespace

void encode_dump(Batch& batch, const DumpRequest& req) {
  if (req.kind == DumpKind::Action) {
    encode_action_request(batch, req);
    return;
  }
  if (req.get()) {
    // Acknowledged, so an answer always ends; the kernel sends a qdisc only to whoever listens
    // to tc notifications unless asked to echo it (as a side effect, those listeners see it).
    Message m(batch, req.kind == DumpKind::Link ? RTM_GETLINK : RTM_GETQDISC,
              NLM_F_ACK | (req.kind == DumpKind::Qdisc ? NLM_F_ECHO : 0));
    if (req.kind == DumpKind::Link) {
      auto* ifi = static_cast<ifinfomsg*>(m.put_extra_header(sizeof(ifinfomsg)));
      ifi->ifi_family = AF_UNSPEC;
      ifi->ifi_index = static_cast<int>(req.dev.index);
      m.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
      if (req.dev.by_name()) m.put_strz(IFLA_IFNAME, req.dev.name);
    } else {
      auto* tcm = static_cast<tcmsg*>(m.put_extra_header(sizeof(tcmsg)));
      tcm->tcm_family = AF_UNSPEC;
      m.put_ifindex_at(&tcm->tcm_ifindex, req.dev);
      tcm->tcm_parent = req.parent;
    }
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
      // One interface's objects (filters and chains: of one parent; classes: of every qdisc).
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
      m.finish();
      break;
    }
    case DumpKind::Action:
      break;  // encode_action_request
  }
}

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
  return true;
}

// A chain of a filter hook or classful qdisc, with its template if it has one.
bool decode_chain(const nlmsghdr* nlh, FieldWriter& w) {
  const nlattr* tb[TCA_MAX + 1];
  const tcmsg* tcm = parse_tc(nlh, tb);
  if (!tcm || !tb[TCA_CHAIN]) return false;
  w.set_string("type", "chain");
  w.set_u64("ifindex", static_cast<uint32_t>(tcm->tcm_ifindex));
  w.set_string("parent", handle_name(tcm->tcm_parent, HandleContext::FilterParent));
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
  return true;
}

// Decodes a link, qdisc, filter or action message of type `type` (a NEW type; deletions decode
// the same). With `deleted`, a filter message without a handle is kept: it stands for every
// filter of its priority and protocol.
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
  if (!has_header(nlh, NLMSG_ALIGN(sizeof(tcmsg)))) return false;
  const auto* tcm = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
  const nlattr* tb[TCA_MAX + 1];
  parse_payload(reinterpret_cast<const uint8_t*>(tcm) + NLMSG_ALIGN(sizeof(tcmsg)),
                mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(tcmsg)), tb, TCA_MAX);
  if (!tb[TCA_KIND]) return false;
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
  return true;
}

}  // namespace

bool decode_object(const nlmsghdr* nlh, FieldWriter& w) {
  return decode_message(nlh, nlh->nlmsg_type, false, w);
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
