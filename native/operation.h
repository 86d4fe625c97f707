// Operations (add/replace/change/delete of qdiscs, filters and links) encoded into a batch, and
// kernel objects decoded back into the same shapes.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "fields.h"
#include "message.h"
#include "tc_util.h"

namespace netqos {

// A buffer of consecutive netlink messages, one per operation, plus the interface names still to
// resolve. Sequence numbers and port ids are filled in when it is sent.
class Batch {
 public:
  // Grows without zero-filling: each message reserves kMaxMessage and keeps what it used.
  class Buffer {
   public:
    uint8_t* data() { return data_.get(); }
    const uint8_t* data() const { return data_.get(); }
    size_t size() const { return size_; }
    void clear() { size_ = 0; }
    void reserve_tail(size_t extra) {
      if (size_ + extra <= capacity_) return;
      size_t cap = capacity_ ? capacity_ * 2 : 256 * 1024;
      while (cap < size_ + extra) cap *= 2;
      std::unique_ptr<uint8_t[]> grown(new uint8_t[cap]);
      if (size_) std::memcpy(grown.get(), data_.get(), size_);
      data_ = std::move(grown);
      capacity_ = cap;
    }
    void set_size(size_t n) { size_ = n; }

   private:
    std::unique_ptr<uint8_t[]> data_;
    size_t size_ = 0;
    size_t capacity_ = 0;
  };
  Buffer buf;
  std::vector<size_t> starts;   // offset of each message in buf
  std::vector<IfFixup> fixups;  // ordered by offset
  std::vector<UniqueFd> fds;    // descriptors the messages refer to, open until the batch goes
  // Interface indexes by name that the caller has just read and vouches for: these names are
  // not looked up again when the batch is sent (unless a link message of the batch changes them).
  std::unordered_map<std::string, uint32_t> known;
  size_t size() const { return starts.size(); }
  nlmsghdr* message(size_t i) { return reinterpret_cast<nlmsghdr*>(buf.data() + starts[i]); }
  void clear() {
    buf.clear();
    starts.clear();
    fixups.clear();
    fds.clear();
    known.clear();
  }
};

// Reads one operation ({op: 'add', qdisc: {...}} etc.) and appends its message to the batch.
// Throws InvalidArgument naming the field on a bad operation; the batch is then unchanged.
void encode_operation(Batch& batch, const FieldReader& op);

// What to dump.
enum class DumpKind { Qdisc, Filter, Link, Action, Class, Chain };
// A link with `dev`, or a qdisc with `dev` and `parent`, is one object asked for (a get, not a
// dump): cheaper than listing them all when a caller needs few.
struct DumpRequest {
  DumpKind kind;
  IfRef dev;  // qdisc/filter: limit to this interface (filter, class, chain: required); link: get it
  uint32_t parent = 0;  // filter, chain: the parent (block) to list; qdisc: get the one there
  bool has_parent = false;
  std::string action_kind;  // action: the kind to list ("mirred", ...)
  // action: get the one of this index instead of listing them. The kernel answers ENOENT when
  // it knows the kind but has no such action, EINVAL when it does not know the kind at all.
  uint32_t action_index = 0;
  bool has_index = false;
  // A missing interface, qdisc or hook is an empty answer instead of an error.
  bool optional = false;
  bool get() const {
    return (kind == DumpKind::Link && (dev.index || dev.by_name())) ||
           (kind == DumpKind::Qdisc && has_parent) || (kind == DumpKind::Action && has_index);
  }
};
DumpRequest read_dump_request(const FieldReader& r);
// Appends the dump request message for `req` to the batch (with the resolved ifindex fixup).
void encode_dump(Batch& batch, const DumpRequest& req);

// The interface a link, qdisc or filter message is about (0 for other messages).
uint32_t message_ifindex(const nlmsghdr* nlh);

// Decodes one reply message of a dump into w. Returns false for messages to skip.
bool decode_object(const nlmsghdr* nlh, FieldWriter& w);
// Decodes one notification: "event" ("new" or "del") and the object as decode_object writes
// it; a new filter also says whether it was "created" (announced create-exclusive, so surely
// new). A filter deletion with handle 0 stands for every filter of its priority and protocol.
bool decode_event(const nlmsghdr* nlh, FieldWriter& w);

}  // namespace netqos
