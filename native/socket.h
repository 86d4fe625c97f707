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

#include "dump_request.h"
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

// Receives the answers of RouteSocket::read as they arrive: each message that request i asked
// for (a request's own in order; those of different requests may interleave), and restart(i)
// when request i's dump was interrupted by a concurrent change and is read again from its start
// (what it received so far is void).
class DumpSink {
 public:
  virtual ~DumpSink() = default;
  virtual void message(size_t request, const nlmsghdr* nlh) = 0;
  virtual void restart(size_t request) = 0;
};

// One request's answer, collected (for tests and tools).
struct DumpReply {
  std::vector<uint8_t> data;    // reply messages, back to back
  std::vector<size_t> offsets;  // start of each message
};

// Where a socket receives: four slots of 64 KiB, not zero-filled, so one recvmmsg can take up
// to four of the kernel's buffers (a dump's are at most 32 KiB, an acknowledgement or a get's
// answer a few KiB). A message that does not fit its slot is an error (ENOSPC), never cut short.
// Handles are often opened for a few small requests: a closed socket's buffer waits for the
// next one instead of going back to the allocator (which took a good part of opening one).
class ReceiveBuffer {
 public:
  static constexpr size_t kSlots = 4;
  static constexpr size_t kSlotSize = 64 * 1024;
  static constexpr size_t kSize = kSlots * kSlotSize;
  ReceiveBuffer();
  ~ReceiveBuffer();
  ReceiveBuffer(const ReceiveBuffer&) = delete;
  ReceiveBuffer& operator=(const ReceiveBuffer&) = delete;
  uint8_t* data() { return data_.get(); }
  size_t size() const { return kSize; }
  uint8_t* slot(size_t i) { return data_.get() + i * kSlotSize; }

 private:
  std::unique_ptr<uint8_t[]> data_;
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
  // Runs the reads: the interface names they use looked up together first, then as many
  // requests per sendmsg as the receive buffer holds answers for (all qdisc requests answered
  // by one dump); a dump the kernel reports interrupted is read again. Every request reaches
  // the kernel as a dump or a link get, which it answers to this socket only: no read makes
  // the kernel notify anyone. Throws SystemError (after reading every answer that was coming).
  void read(const std::vector<DumpRequest>& requests, DumpSink& sink);
  // One read, its messages collected.
  void dump(const DumpRequest& req, DumpReply& out);
  // Interface index for a name in this namespace, or 0 when there is none.
  uint32_t resolve(const std::string& name);

  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t sendmsg_calls() const { return sendmsg_calls_; }
  // The network namespace the socket is in, as "DEV:INO" of its namespace file (what stat(2)
  // of /var/run/netns/NAME or /proc/PID/ns/net gives), "" when the kernel cannot tell.
  std::string namespace_id() const;
  std::mutex& lock() { return mutex_; }

 private:
  struct Wire;
  // Sends these wire requests (one sendmsg) and reads their answers into the sink; those the
  // kernel could not start yet (EBUSY) or that were interrupted go to `again`.
  void read_round(std::vector<Wire>& wires, const std::vector<size_t>& round,
                  const std::vector<DumpRequest>& requests, DumpSink& sink, std::vector<size_t>& again,
                  int& error, std::string& message);
  // Requests per sendmsg: as many dump answers (up to 32 KiB of buffer each) as fit in half the
  // receive buffer.
  size_t pipeline_depth() const;
  // Receives what the kernel has queued for this socket, up to ReceiveBuffer::kSlots of its
  // buffers in one system call (waiting for the first, or not with `wait` false), and calls
  // on_message for each message. Returns -1 with errno on failure (EAGAIN: nothing queued).
  template <typename F>
  int receive(F on_message, bool wait = true);
  // The large socket buffers a big batch or many reads at once need (set on first need: most
  // handles send a few small requests, and setting them costs system calls).
  void grow_buffers();
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
  int receive_buffer_ = 0;  // bytes, once grow_buffers() ran
  bool grown_ = false;
  std::mutex mutex_;
};

}  // namespace netqos
