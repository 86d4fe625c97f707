// A route-netlink socket bound to one network namespace: batched, acknowledged sends with
// extended-ack messages, dumps, and interface name resolution.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "operation.h"

namespace netqos {

// A failed system call or protocol step, with errno.
class SystemError : public std::runtime_error {
 public:
  SystemError(int err, const std::string& what) : std::runtime_error(what), error(err) {}
  int error;
};

struct OpResult {
  int error = 0;        // 0 or a positive errno
  std::string message;  // the kernel's extended-ack text (error or warning)
};

struct DumpReply {
  std::vector<uint8_t> data;    // reply messages, back to back
  std::vector<size_t> offsets;  // start of each message
  uint32_t ifindex = 0;         // the request's interface, resolved (0: all)
};

// Where a socket receives: 1 MiB, not zero-filled (a handle is often opened for a few small
// requests, and filling it was a good part of the cost of opening one).
class ReceiveBuffer {
 public:
  static constexpr size_t kSize = 1 << 20;
  uint8_t* data() { return data_.get(); }
  size_t size() const { return kSize; }

 private:
  std::unique_ptr<uint8_t[]> data_{new uint8_t[kSize]};
};

// A netlink socket (route by default) in a namespace ("" for the caller's, a name under
// /var/run/netns, or a path), unbound.
mnl_socket* open_in_namespace(const std::string& netns, int protocol = NETLINK_ROUTE);
// The errno an NLMSG_ERROR message carries (0: an acknowledgement), or nullopt when the message
// is too short to be one.
std::optional<int> ack_error(const nlmsghdr* nlh);
// The extended-ack attributes of an NLMSG_ERROR message into tb (NLMSGERR_ATTR_*); false when
// it has none.
bool ack_attributes(const nlmsghdr* nlh, const nlattr** tb);
// The kernel's extended-ack text in an NLMSG_ERROR message ("" when it has none).
std::string extack_message(const nlmsghdr* nlh);
// recv on a netlink socket, keeping only what the kernel sent: another process that learns the
// socket's port id can send to it, and its messages must not pass for the kernel's answers.
// Returns recv's result (-1 with errno; ENOSPC for a message cut short).
ssize_t receive_from_kernel(mnl_socket* nl, void* buf, size_t size, int flags = 0);
// setsockopt, or with fallback_name when that fails (SO_RCVBUFFORCE needs CAP_NET_ADMIN).
void set_option(mnl_socket* nl, int level, int name, int value, int fallback_name = 0);

class RouteSocket {
 public:
  // netns: "" for the calling process's namespace, a name under /var/run/netns, or a path.
  explicit RouteSocket(const std::string& netns);
  ~RouteSocket();
  RouteSocket(const RouteSocket&) = delete;
  RouteSocket& operator=(const RouteSocket&) = delete;

  // Sends every message of the batch (as few sendmsg calls as fit), each acknowledged, and
  // fills one result per message. Interface names are resolved first (see resolve).
  // after_chunk, when set, runs between acknowledged sendmsg calls (a Monitor drains there).
  void execute(Batch& batch, std::vector<OpResult>& results,
               const std::function<void()>& after_chunk = nullptr);
  // Runs one dump (or get); retries from the start when the kernel reports it interrupted.
  void dump(const DumpRequest& req, DumpReply& out);
  // Runs several, the interface names they use looked up together first.
  void dump_all(const std::vector<DumpRequest>& requests, std::vector<DumpReply>& replies);
  // Interface index for a name in this namespace, or 0 when there is none.
  uint32_t resolve(const std::string& name);

  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t sendmsg_calls() const { return sendmsg_calls_; }
  std::mutex& lock() { return mutex_; }

 private:
  void dump_one(const DumpRequest& req, DumpReply& out);
  // resolve() through names_, which keeps what it finds.
  uint32_t lookup(const std::string& name);
  // One sendmsg with these messages, then one acknowledgement per message into results.
  void send_and_collect(Batch& batch, const std::vector<size_t>& part, std::vector<OpResult>& results);
  // Looks up, in one pipelined round, every interface name of the batch's fixups from message
  // `first` on that is not known yet; unknown names map to 0.
  void resolve_names(const Batch& batch, size_t first);

  mnl_socket* nl_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = 1;
  ReceiveBuffer rxbuf_;
  std::unordered_map<std::string, uint32_t> names_;  // per execute() call
  uint64_t messages_sent_ = 0;
  uint64_t sendmsg_calls_ = 0;
  std::mutex mutex_;
};

}  // namespace netqos
