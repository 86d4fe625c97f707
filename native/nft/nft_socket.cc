#include "nft/nft_socket.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace netqos::nft {

namespace {

constexpr int kReceiveBuffer = 32 * 1024 * 1024;
constexpr int kSendBuffer = 4 * 1024 * 1024;
constexpr int kReadRetries = 10;

std::string errno_text(int err) { return std::string(strerror(err)); }

// Without a message, the kernel may still point at the attribute it refused (by its offset in
// the request): name it.
std::string refused_attribute(const nlmsghdr* error, const nlmsghdr* request) {
  const nlattr* tb[NLMSGERR_ATTR_MAX + 1];
  if (!ack_attributes(error, tb)) return "";
  if (!tb[NLMSGERR_ATTR_OFFS] || mnl_attr_get_payload_len(tb[NLMSGERR_ATTR_OFFS]) < 4) return "";
  std::string what = describe_attribute(request, attr_u32(tb[NLMSGERR_ATTR_OFFS]));
  return what.empty() ? "" : "refused: " + what;
}

void append(DumpReply& out, const nlmsghdr* nlh) {
  out.offsets.push_back(out.data.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(nlh);
  out.data.insert(out.data.end(), bytes, bytes + nlh->nlmsg_len);
  out.data.resize(NLMSG_ALIGN(out.data.size()));  // the next message aligned, as decoders read it
}

}  // namespace

NftSocket::NftSocket(const std::string& netns) {
  nl_ = open_in_namespace(netns, NETLINK_NETFILTER);
  int one = 1;
  mnl_socket_setsockopt(nl_, NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(nl_, NETLINK_CAP_ACK, &one, sizeof one);
  set_option(nl_, SOL_SOCKET, SO_RCVBUFFORCE, kReceiveBuffer, SO_RCVBUF);
  ensure_send_buffer(kSendBuffer);
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl_);
    throw SystemError(err, "binding the netfilter netlink socket failed: " + errno_text(err));
  }
}

NftSocket::~NftSocket() {
  if (nl_) mnl_socket_close(nl_);
}

// A batch travels in one sendmsg, which the socket's send buffer must hold.
void NftSocket::ensure_send_buffer(size_t bytes) {
  if (bytes + 4096 <= static_cast<size_t>(send_buffer_)) return;
  send_buffer_ = static_cast<int>(std::min<size_t>(std::max<size_t>(bytes + 65536, kSendBuffer), 1u << 30));
  set_option(nl_, SOL_SOCKET, SO_SNDBUFFORCE, send_buffer_, SO_SNDBUF);
}

void NftSocket::execute(NftBatch& b, size_t op_count, ApplyOutcome& out) {
  out = ApplyOutcome{};
  out.ops.assign(op_count, OpResult{});
  uint32_t first_seq = seq_;
  for (size_t i = 0; i < b.size(); i++) {
    nlmsghdr* nlh = b.batch.message(i);
    nlh->nlmsg_seq = seq_++;
    nlh->nlmsg_pid = 0;
  }
  ensure_send_buffer(b.batch.buf.size());
  ssize_t sent = mnl_socket_sendto(nl_, b.batch.buf.data(), b.batch.buf.size());
  sendmsg_calls_++;
  if (sent < 0) {
    int err = errno;
    out.batch.error = err;
    out.batch.message = "sending the batch failed: " + errno_text(err);
    return;
  }
  messages_sent_ += b.size();
  // The kernel handled the whole batch inside that sendmsg: its errors (and, with echo, what it
  // made) already wait in the receive buffer. Read them, then ask for the generation; its answer
  // comes after everything of the batch.
  auto take = [&](const nlmsghdr* nlh) {
    uint32_t offset = nlh->nlmsg_seq - first_seq;
    if (offset >= b.size()) return;
    int32_t op = b.op_of[offset];
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      auto error = ack_error(nlh);
      if (!error || *error == 0) return;
      OpResult& r = op < 0 ? out.batch : out.ops[op];
      if (r.error) return;  // the first failure of an operation explains it
      r.error = *error;
      r.message = extack_message(nlh);
      if (r.message.empty()) r.message = refused_attribute(nlh, b.batch.message(offset));
    } else if (op >= 0 && nft_msg(nlh->nlmsg_type) != NFT_MSG_NEWGEN) {
      out.echoed_op.push_back(op);
      append(out.echoed, nlh);
    }
  };
  uint32_t gen_seq = 0;
  bool sentinel_sent = false, done = false;
  while (!done) {
    ssize_t got = receive_from_kernel(nl_, rxbuf_.data(), rxbuf_.size(), sentinel_sent ? 0 : MSG_DONTWAIT);
    if (got < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == ENOBUFS || err == ENOSPC) {  // answers dropped, or one cut short
        out.lost = true;
        continue;
      }
      if ((err == EAGAIN || err == EWOULDBLOCK) && !sentinel_sent) {
        Batch request;
        nft::encode_dump(request, DumpRequest(DumpKind::Generation));
        gen_seq = request.message(0)->nlmsg_seq = seq_++;
        if (mnl_socket_sendto(nl_, request.buf.data(), request.buf.size()) < 0) {
          err = errno;
          throw SystemError(err, "asking for the generation failed: " + errno_text(err));
        }
        sendmsg_calls_++;
        sentinel_sent = true;
        continue;
      }
      throw SystemError(err, "receiving the batch's answers failed: " + errno_text(err));
    }
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
    int len = static_cast<int>(got);
    for (; message_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (sentinel_sent && nlh->nlmsg_seq == gen_seq) {
        if (nft_msg(nlh->nlmsg_type) == NFT_MSG_NEWGEN) {
          const nlattr* tb[NFTA_GEN_MAX + 1];
          parse_message(nlh, tb, NFTA_GEN_MAX);
          out.generation = be32(tb[NFTA_GEN_ID]);
        } else if (nlh->nlmsg_type == NLMSG_ERROR) {
          done = true;  // its acknowledgement: the last answer
        }
        continue;
      }
      take(nlh);
    }
  }
}

uint32_t NftSocket::generation() {
  std::vector<DumpReply> replies;
  dump_one(DumpRequest(DumpKind::Generation), replies.emplace_back());
  const DumpReply& r = replies[0];
  for (size_t offset : r.offsets) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(r.data.data() + offset);
    if (nft_msg(nlh->nlmsg_type) != NFT_MSG_NEWGEN) continue;
    const nlattr* tb[NFTA_GEN_MAX + 1];
    parse_message(nlh, tb, NFTA_GEN_MAX);
    return be32(tb[NFTA_GEN_ID]);
  }
  throw SystemError(EPROTO, "the kernel sent no generation");
}

uint32_t NftSocket::dump_all(const std::vector<DumpRequest>& requests, std::vector<DumpReply>& replies) {
  replies.resize(requests.size());
  for (int attempt = 0; attempt < kReadRetries; attempt++) {
    uint32_t before = generation();
    bool whole = true;
    for (size_t i = 0; i < requests.size() && whole; i++) whole = dump_one(requests[i], replies[i]);
    if (whole && generation() == before) return before;
  }
  throw SystemError(EINTR, "the ruleset kept changing while it was read");
}

bool NftSocket::dump_one(const DumpRequest& req, DumpReply& out) {
  out.data.clear();
  out.offsets.clear();
  out.ifindex = 0;
  Batch request;
  nft::encode_dump(request, req);
  uint32_t seq = request.message(0)->nlmsg_seq = seq_++;
  if (mnl_socket_sendto(nl_, request.buf.data(), request.buf.size()) < 0) {
    int err = errno;
    throw SystemError(err, "sending the read request failed: " + errno_text(err));
  }
  sendmsg_calls_++;
  bool interrupted = false;
  for (;;) {
    ssize_t got = receive_from_kernel(nl_, rxbuf_.data(), rxbuf_.size());
    if (got < 0) {
      int err = errno;
      if (err == EINTR) continue;
      throw SystemError(err, "receiving the read failed: " + errno_text(err));
    }
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
    int len = static_cast<int>(got);
    for (; message_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq) continue;
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (nlh->nlmsg_type == NLMSG_DONE) return !interrupted;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        auto error = ack_error(nlh);
        if (!error) continue;
        if (*error == 0) return !interrupted;  // a get ends with its acknowledgement
        int code = *error;
        // One object asked for, and it is not there (nor its table): nothing to read.
        if (req.get() && req.kind != DumpKind::Generation && code == ENOENT) {
          out.data.clear();
          out.offsets.clear();
          return true;
        }
        std::string text = extack_message(nlh);
        throw SystemError(
            code, "reading nf_tables failed: " + errno_text(code) + (text.empty() ? "" : " (" + text + ")"));
      }
      append(out, nlh);
    }
  }
}

}  // namespace netqos::nft
