// Operations (add/replace/change/delete of qdiscs, classes, filters, chains and links) to request
// messages: the generic part of each (verb, flags, tcmsg); the kind's own options by its encoder
// (registry.h).
#include "operation.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

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

}  // namespace netqos
