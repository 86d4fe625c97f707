// What a read asks for (DumpRequest), as the caller gives it and as the kernel gets it, and
// which reply messages answer it.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>

#include "fields.h"
#include "operation.h"

namespace netqos {

// What to dump.
enum class DumpKind { Qdisc, Filter, Link, Action, Class, Chain };
// One read: every object of a kind, one hook's filters or chains (`dev` and `parent`), one
// interface's classes (`dev`), one link (a get: with `dev`), or the qdiscs of one interface
// (`dev`), or the one at a parent (`dev` and `parent`). Qdiscs are always read by a dump of the
// whole namespace, filtered here: a qdisc get makes the kernel announce the qdisc to every
// listener of tc notifications, and its dump filters nothing. Filters, classes and chains are
// dumped by the kernel for the one interface (and parent) the request names.
struct DumpRequest {
  DumpKind kind;
  IfRef dev;            // qdisc: limit to this interface; filter, class, chain: required; link: get it
  uint32_t parent = 0;  // filter, chain: the parent (block) to list; qdisc: the one there only
  bool has_parent = false;
  std::string action_kind;  // action: the kind to list ("mirred", ...)
  // action: get the one of this index instead of listing them. The kernel answers ENOENT when
  // it knows the kind but has no such action, EINVAL when it does not know the kind at all.
  uint32_t action_index = 0;
  bool has_index = false;
  // action: a request to make an action of the kind with no options at all, which every kind
  // refuses (EINVAL) before making anything, after the kernel loaded its module when it can
  // (ENOENT "Failed to load TC action module" when it cannot): nothing made, nobody notified.
  bool load = false;
  std::string link_kind;  // link dump: only links of this kind ("ifb", ...), the kernel's filter
  // A missing interface, qdisc or hook is an empty answer instead of an error.
  bool optional = false;
  // Statistics decoded (false: "stats" objects are left out, for readers that keep no counters).
  bool stats = true;
  // Links: the index and the name only (enough to name other objects' interfaces).
  bool names_only = false;
  // A link asked for by name or index, or an action by index: a get, answered to the asker only.
  bool get() const {
    return (kind == DumpKind::Link && (dev.index || dev.by_name())) ||
           (kind == DumpKind::Action && (has_index || load));
  }
  // Dumped by the kernel for one interface only: the request carries the interface's index
  // (and the parent), so a name is resolved before it is sent.
  bool per_interface() const {
    return kind == DumpKind::Filter || kind == DumpKind::Class || kind == DumpKind::Chain;
  }
  // Reads one object, hook or interface: small answers, whatever the namespace holds (but qdiscs).
  bool one_object() const { return get() || per_interface(); }
};
DumpRequest read_dump_request(const FieldReader& r);
// Appends the request message for `req` to the batch (with the resolved ifindex fixup). Qdisc
// requests all encode one whole-namespace dump.
void encode_dump(Batch& batch, const DumpRequest& req);
// Whether a reply message of `req`'s request is one of the objects it asked for (a qdisc dump
// answers for every interface and parent; `ifindex`: req's interface, resolved).
bool dump_wants(const DumpRequest& req, uint32_t ifindex, const nlmsghdr* nlh);

}  // namespace netqos
