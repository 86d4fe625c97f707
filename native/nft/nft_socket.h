// A NETLINK_NETFILTER socket bound to one network namespace (opened as the route socket is, by a
// thread that entered the namespace): one batch per apply, each committed whole or not at all;
// reads that notify nobody; and the ruleset's generation.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "nft/nft.h"
#include "socket.h"

namespace netqos::nft {

struct ApplyOutcome {
  std::vector<OpResult> ops;  // one per operation: its first error, with the kernel's extack text
  // The batch refused as a whole (answered on BATCH_BEGIN): no permission, no nf_tables in the
  // kernel, the generation moved (ERESTART), or a failed commit.
  OpResult batch;
  // With echo: each message the kernel echoed (what it made, with handles), by operation.
  std::vector<int32_t> echoed_op;
  DumpReply echoed;
  uint32_t generation = 0;  // the ruleset's generation once the batch was handled
  bool lost = false;        // answers were dropped (receive buffer overflowed): outcome unknown
};

class NftSocket {
 public:
  explicit NftSocket(const std::string& netns);
  ~NftSocket();
  NftSocket(const NftSocket&) = delete;
  NftSocket& operator=(const NftSocket&) = delete;

  // Sends the batch (started and finished) in one sendmsg and collects the kernel's answers.
  void execute(NftBatch& b, size_t op_count, ApplyOutcome& out);
  // Runs the reads between two generation reads, again while the ruleset changed in between
  // (or a dump was interrupted), so they all describe one generation; returns it.
  uint32_t dump_all(const std::vector<DumpRequest>& requests, std::vector<DumpReply>& replies);
  uint32_t generation();

  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t sendmsg_calls() const { return sendmsg_calls_; }
  std::mutex& lock() { return mutex_; }

 private:
  // One read; false when a dump was interrupted by a change (read again).
  bool dump_one(const DumpRequest& req, DumpReply& out);
  void ensure_send_buffer(size_t bytes);

  mnl_socket* nl_ = nullptr;
  uint32_t seq_ = 1;
  int send_buffer_ = 0;
  ReceiveBuffer rxbuf_;
  uint64_t messages_sent_ = 0;
  uint64_t sendmsg_calls_ = 0;
  std::mutex mutex_;
};

}  // namespace netqos::nft
