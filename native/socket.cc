#include "socket.h"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace netqos {

namespace {

// Acks for one sendmsg must fit the receive buffer: each costs about 1 KiB of skb truesize.
constexpr size_t kChunkMessages = 1024;  // also IOV_MAX
constexpr size_t kChunkBytes = 512 * 1024;
constexpr int kReceiveBuffer = 32 * 1024 * 1024;
constexpr int kSendBuffer = 2 * 1024 * 1024;
constexpr int kDumpRetries = 10;

std::string errno_text(int err) { return std::string(strerror(err)); }

}  // namespace

void set_option(mnl_socket* nl, int level, int name, int value, int fallback_name) {
  int fd = mnl_socket_get_fd(nl);
  if (setsockopt(fd, level, name, &value, sizeof value) == 0) return;
  if (fallback_name) setsockopt(fd, level, fallback_name, &value, sizeof value);
}

// The socket is created by a short-lived thread that entered the namespace, so no thread of
// the process ever changes namespace for longer than that.
mnl_socket* open_in_namespace(const std::string& netns, int protocol) {
  int nsfd = -1;
  if (!netns.empty()) {
    std::string path = netns.find('/') == std::string::npos ? "/var/run/netns/" + netns : netns;
    nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      int err = errno;
      throw SystemError(
          err, "network namespace \"" + netns + "\" cannot be opened (" + path + "): " + errno_text(err));
    }
  }
  mnl_socket* nl = nullptr;
  int err = 0;
  const char* step = "";
  auto work = [&] {
    if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) {
      err = errno;
      step = "entering the network namespace";
      return;
    }
    nl = mnl_socket_open2(protocol, SOCK_CLOEXEC);
    if (!nl) {
      err = errno;
      step = protocol == NETLINK_ROUTE ? "opening a route netlink socket" : "opening a netlink socket";
    }
  };
  if (nsfd >= 0) {
    std::thread t(work);
    t.join();
    close(nsfd);
  } else {
    work();
  }
  if (!nl) throw SystemError(err, std::string(step) + " failed: " + errno_text(err));
  return nl;
}

bool ack_attributes(const nlmsghdr* nlh, const nlattr** tb) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || !has_header(nlh, sizeof(nlmsgerr))) return false;
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  // The attributes follow the error and, unless capped, the whole request it answers (padded to
  // a 4-byte boundary, as the kernel appends it).
  uint64_t head = sizeof(nlmsghdr) + sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < sizeof(nlmsghdr)) return false;
    head += NLMSG_ALIGN(static_cast<uint64_t>(err->msg.nlmsg_len) - sizeof(nlmsghdr));
  }
  if (nlh->nlmsg_len <= head) return false;
  parse_payload(reinterpret_cast<const uint8_t*>(nlh) + head, nlh->nlmsg_len - head, tb, NLMSGERR_ATTR_MAX);
  return true;
}

std::string extack_message(const nlmsghdr* nlh) {
  const nlattr* tb[NLMSGERR_ATTR_MAX + 1];
  if (!ack_attributes(nlh, tb) || !tb[NLMSGERR_ATTR_MSG]) return "";
  return attr_str(tb[NLMSGERR_ATTR_MSG]);
}

ssize_t receive_from_kernel(mnl_socket* nl, void* buf, size_t size, int flags) {
  for (;;) {
    sockaddr_nl from{};
    iovec iov{buf, size};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t got = recvmsg(mnl_socket_get_fd(nl), &msg, flags);
    if (got < 0) return got;
    if (msg.msg_flags & MSG_TRUNC) {
      errno = ENOSPC;
      return -1;
    }
    if (from.nl_pid == 0) return got;
  }
}

std::optional<int> ack_error(const nlmsghdr* nlh) {
  if (!has_header(nlh, sizeof(nlmsgerr))) return std::nullopt;
  int error;
  std::memcpy(&error, static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)), sizeof error);
  // The kernel sends 0 or a negative errno; anything else is no errno anyone knows.
  return error <= 0 && error >= -4095 ? -error : EPROTO;
}

namespace {

bool is_link_message(const nlmsghdr* nlh) {
  return nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK;
}

std::string link_message_name(const nlmsghdr* nlh) {
  std::string name;
  size_t head = NLMSG_ALIGN(sizeof(ifinfomsg));
  for_each_attr(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) + head,
                mnl_nlmsg_get_payload_len(nlh) - head, [&](const nlattr* attr) {
                  if (mnl_attr_get_type(attr) == IFLA_IFNAME) name = attr_str(attr);
                });
  return name;
}

}  // namespace

RouteSocket::RouteSocket(const std::string& netns) {
  nl_ = open_in_namespace(netns);
  int one = 1;
  mnl_socket_setsockopt(nl_, NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(nl_, NETLINK_CAP_ACK, &one, sizeof one);
  set_option(nl_, SOL_SOCKET, SO_RCVBUFFORCE, kReceiveBuffer, SO_RCVBUF);
  set_option(nl_, SOL_SOCKET, SO_SNDBUFFORCE, kSendBuffer, SO_SNDBUF);
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl_);
    throw SystemError(err, "binding the netlink socket failed: " + errno_text(err));
  }
  portid_ = mnl_socket_get_portid(nl_);
}

RouteSocket::~RouteSocket() {
  if (nl_) mnl_socket_close(nl_);
}

void RouteSocket::execute(Batch& batch, std::vector<OpResult>& results,
                          const std::function<void()>& after_chunk) {
  results.assign(batch.size(), OpResult{});
  names_ = batch.known;
  std::vector<bool> skipped(batch.size(), false);
  size_t fixup = 0;  // next unresolved fixup
  size_t first = 0;
  while (first < batch.size()) {
    // Grow the chunk until a limit, or until a message names an interface we cannot know yet
    // (an earlier message of this chunk may create or delete it).
    size_t end = first, bytes = 0;
    while (end < batch.size() && end - first < kChunkMessages) {
      size_t msg_start = batch.starts[end];
      size_t msg_end = msg_start + batch.message(end)->nlmsg_len;
      if (end > first && bytes + (msg_end - msg_start) > kChunkBytes) break;
      bool blocked = false;
      size_t f = fixup;
      for (; f < batch.fixups.size() && batch.fixups[f].offset < msg_end; f++) {
        if (!names_.count(batch.fixups[f].name)) blocked = true;
      }
      if (blocked) {
        if (end > first) break;
        // First message of the chunk: everything before it is acknowledged, so ask the kernel.
        resolve_names(batch, end);
      }
      for (; fixup < f; fixup++) {
        auto it = names_.find(batch.fixups[fixup].name);
        if (it == names_.end() || it->second == 0) {
          skipped[end] = true;
          results[end].error = ENODEV;
          results[end].message = "interface \"" + batch.fixups[fixup].name + "\" does not exist";
          continue;
        }
        std::memcpy(batch.buf.data() + batch.fixups[fixup].offset, &it->second, sizeof(uint32_t));
      }
      nlmsghdr* nlh = batch.message(end);
      if (is_link_message(nlh)) {
        // A link added or deleted here changes what its name means for later messages; one
        // without a name (by index, or a whole group) may change any.
        std::string changed = link_message_name(nlh);
        if (changed.empty())
          names_.clear();
        else
          names_.erase(changed);
      }
      bytes += msg_end - msg_start;
      end++;
    }
    // Send what can be sent: at most kChunkMessages messages, so one sendmsg.
    std::vector<size_t> part;
    for (size_t i = first; i < end; i++)
      if (!skipped[i]) part.push_back(i);
    if (!part.empty()) send_and_collect(batch, part, results);
    first = end;
    if (after_chunk && first < batch.size()) after_chunk();
  }
}

void RouteSocket::send_and_collect(Batch& batch, const std::vector<size_t>& part,
                                   std::vector<OpResult>& results) {
  std::vector<iovec> iov(part.size());
  uint32_t first_seq = seq_;
  for (size_t j = 0; j < part.size(); j++) {
    nlmsghdr* nlh = batch.message(part[j]);
    nlh->nlmsg_seq = seq_++;
    nlh->nlmsg_pid = 0;
    iov[j].iov_base = nlh;
    iov[j].iov_len = nlh->nlmsg_len;
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  ssize_t sent = sendmsg(mnl_socket_get_fd(nl_), &msg, 0);
  sendmsg_calls_++;
  if (sent < 0) {
    int err = errno;
    for (size_t idx : part) {
      results[idx].error = err;
      results[idx].message = "sendmsg failed: " + errno_text(err);
    }
    return;
  }
  messages_sent_ += part.size();
  // The kernel handled every message inside sendmsg; their acks wait in the receive buffer.
  std::vector<bool> acked(part.size(), false);
  size_t pending = part.size();
  while (pending > 0) {
    ssize_t got = receive_from_kernel(nl_, rxbuf_.data(), rxbuf_.size());
    if (got < 0) {
      int err = errno;
      if (err == EINTR) continue;
      for (size_t j = 0; j < part.size(); j++) {
        if (acked[j]) continue;
        results[part[j]].error = err;
        results[part[j]].message = "acknowledgement lost: " + errno_text(err);
      }
      return;
    }
    const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
    int len = static_cast<int>(got);
    for (; message_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      uint32_t offset = nlh->nlmsg_seq - first_seq;
      if (offset >= part.size() || acked[offset]) continue;
      auto error = ack_error(nlh);
      if (!error) continue;
      OpResult& r = results[part[offset]];
      r.error = *error;
      r.message = extack_message(nlh);
      acked[offset] = true;
      pending--;
    }
  }
}

void RouteSocket::resolve_names(const Batch& batch, size_t first) {
  // Every name not yet known, asked for in one pipelined round of RTM_GETLINK requests.
  std::vector<std::string> wanted;
  size_t begin_offset = batch.starts[first];
  for (const auto& f : batch.fixups) {
    if (f.offset < begin_offset || names_.count(f.name)) continue;
    names_[f.name] = 0;  // placeholder, so each name is asked once
    wanted.push_back(f.name);
  }
  for (size_t k = 0; k < wanted.size(); k += kChunkMessages) {
    size_t n = std::min(kChunkMessages, wanted.size() - k);
    Batch req;
    for (size_t j = 0; j < n; j++) {
      Message m(req, RTM_GETLINK, 0);
      auto* ifi = static_cast<ifinfomsg*>(m.put_extra_header(sizeof(ifinfomsg)));
      ifi->ifi_family = AF_UNSPEC;
      m.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
      m.put_strz(IFLA_IFNAME, wanted[k + j]);
      m.finish();
    }
    uint32_t first_seq = seq_;
    for (size_t j = 0; j < n; j++) req.message(j)->nlmsg_seq = seq_++;
    if (mnl_socket_sendto(nl_, req.buf.data(), req.buf.size()) < 0) return;
    sendmsg_calls_++;
    size_t pending = n;
    while (pending > 0) {
      ssize_t got = receive_from_kernel(nl_, rxbuf_.data(), rxbuf_.size());
      if (got < 0) {
        if (errno == EINTR) continue;
        return;
      }
      const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
      int len = static_cast<int>(got);
      for (; message_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        uint32_t offset = nlh->nlmsg_seq - first_seq;
        if (offset >= n) continue;
        if (nlh->nlmsg_type == RTM_NEWLINK && has_header(nlh, sizeof(ifinfomsg))) {
          const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
          names_[wanted[k + offset]] = static_cast<uint32_t>(ifi->ifi_index);
          pending--;
        } else if (nlh->nlmsg_type == NLMSG_ERROR) {
          pending--;
        }
      }
    }
  }
}

uint32_t RouteSocket::resolve(const std::string& name) {
  names_.clear();
  return lookup(name);
}

uint32_t RouteSocket::lookup(const std::string& name) {
  auto it = names_.find(name);
  if (it == names_.end()) {
    Batch one;
    one.fixups.push_back({0, name});
    one.starts.push_back(0);
    resolve_names(one, 0);
    it = names_.find(name);
  }
  return it == names_.end() ? 0 : it->second;
}

void RouteSocket::dump(const DumpRequest& req, DumpReply& out) {
  names_.clear();
  dump_one(req, out);
}

void RouteSocket::dump_all(const std::vector<DumpRequest>& requests, std::vector<DumpReply>& replies) {
  // Every interface name the requests use, looked up once, in one pipelined round (a link asked
  // for by name is found by the kernel itself).
  names_.clear();
  Batch lookups;
  for (const DumpRequest& req : requests) {
    if (!req.dev.by_name() || req.kind == DumpKind::Link) continue;
    lookups.fixups.push_back({0, req.dev.name});
  }
  if (!lookups.fixups.empty()) {
    lookups.starts.push_back(0);
    resolve_names(lookups, 0);
  }
  replies.resize(requests.size());
  for (size_t i = 0; i < requests.size(); i++) dump_one(requests[i], replies[i]);
}

void RouteSocket::dump_one(const DumpRequest& req, DumpReply& out) {
  out.data.clear();
  out.offsets.clear();
  out.ifindex = 0;
  DumpRequest resolved = req;
  if (req.dev.by_name() && req.kind != DumpKind::Link) {
    resolved.dev.index = lookup(req.dev.name);
    resolved.dev.name.clear();
    if (!resolved.dev.index) {
      if (req.optional) return;
      throw SystemError(ENODEV, "interface \"" + req.dev.name + "\" does not exist");
    }
  }
  out.ifindex = resolved.dev.index;
  bool get = req.get();
  for (int attempt = 0; attempt < kDumpRetries; attempt++) {
    out.data.clear();
    out.offsets.clear();
    Batch request;
    encode_dump(request, resolved);
    nlmsghdr* nlh = request.message(0);
    uint32_t seq = nlh->nlmsg_seq = seq_++;
    if (mnl_socket_sendto(nl_, request.buf.data(), request.buf.size()) < 0) {
      int err = errno;
      throw SystemError(err, "sending the dump request failed: " + errno_text(err));
    }
    sendmsg_calls_++;
    bool done = false, interrupted = false;
    while (!done) {
      ssize_t got = receive_from_kernel(nl_, rxbuf_.data(), rxbuf_.size());
      if (got < 0) {
        int err = errno;
        if (err == EINTR) continue;
        throw SystemError(err, "receiving the dump failed: " + errno_text(err));
      }
      const nlmsghdr* msg = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
      int len = static_cast<int>(got);
      for (; message_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
        if (msg->nlmsg_seq != seq) continue;
        if (msg->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        if (msg->nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (msg->nlmsg_type == NLMSG_ERROR) {
          auto error = ack_error(msg);
          if (!error) continue;
          if (*error == 0) {
            // A get ends with its acknowledgement.
            if (get) {
              done = true;
              break;
            }
            continue;
          }
          // What an optional request asks for may not be there: no such interface, qdisc or hook.
          int code = *error;
          if (req.optional && (code == ENODEV || code == ENOENT || code == EINVAL)) {
            out.offsets.clear();
            out.data.clear();
            return;
          }
          std::string text = extack_message(msg);
          throw SystemError(code,
                            "dump failed: " + errno_text(code) + (text.empty() ? "" : " (" + text + ")"));
        }
        out.offsets.push_back(out.data.size());
        const auto* bytes = reinterpret_cast<const uint8_t*>(msg);
        out.data.insert(out.data.end(), bytes, bytes + msg->nlmsg_len);
        out.data.resize(NLMSG_ALIGN(out.data.size()));  // the next message aligned, as decoders read it
      }
    }
    if (!interrupted) return;
    // Something changed the table mid-dump; give a burst of changes a moment to pass.
    std::this_thread::sleep_for(std::chrono::milliseconds(1 << std::min(attempt, 6)));
  }
  throw SystemError(EINTR, "dump kept being interrupted by concurrent changes");
}

}  // namespace netqos
