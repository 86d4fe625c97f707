// Operations (add/replace/change/delete of qdiscs, classes, filters, chains and links) encoded
// into a batch of request messages. Reads are in dump_request.h, replies and notifications in
// decode.h.
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
      size_t cap = capacity_ ? capacity_ * 2 : 16 * 1024;
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

}  // namespace netqos
