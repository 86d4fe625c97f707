#include "socket.h"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <deque>
#include <thread>

#include "decode.h"

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

namespace {

// Buffers of closed sockets, for the next ones (a few: more sockets at once are rare). Never
// destroyed: a socket may close while the process exits.
struct SpareBuffers {
  std::mutex mutex;
  std::vector<std::unique_ptr<uint8_t[]>> buffers;
};
SpareBuffers& spares() {
  static SpareBuffers* s = new SpareBuffers();
  return *s;
}
constexpr size_t kSpareBuffers = 4;

}  // namespace

ReceiveBuffer::ReceiveBuffer() {
  SpareBuffers& s = spares();
  {
    std::lock_guard<std::mutex> guard(s.mutex);
    if (!s.buffers.empty()) {
      data_ = std::move(s.buffers.back());
      s.buffers.pop_back();
      return;
    }
  }
  data_.reset(new uint8_t[kSize]);
}

ReceiveBuffer::~ReceiveBuffer() {
  SpareBuffers& s = spares();
  std::lock_guard<std::mutex> guard(s.mutex);
  if (s.buffers.size() < kSpareBuffers) s.buffers.push_back(std::move(data_));
}

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

std::string RouteSocket::namespace_id() const {
  int nsfd = ioctl(mnl_socket_get_fd(nl_), SIOCGSKNS);
  if (nsfd < 0) return "";
  struct stat st {};
  int rc = fstat(nsfd, &st);
  close(nsfd);
  if (rc < 0) return "";
  return std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
         std::to_string(static_cast<unsigned long long>(st.st_ino));
}

void RouteSocket::grow_buffers() {
  if (grown_) return;
  grown_ = true;
  set_option(nl_, SOL_SOCKET, SO_RCVBUFFORCE, kReceiveBuffer, SO_RCVBUF);
  set_option(nl_, SOL_SOCKET, SO_SNDBUFFORCE, kSendBuffer, SO_SNDBUF);
  socklen_t size = sizeof receive_buffer_;
  getsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, SO_RCVBUF, &receive_buffer_, &size);
}

template <typename F>
int RouteSocket::receive(F on_message, bool wait) {
  constexpr size_t n = ReceiveBuffer::kSlots;
  mmsghdr msgs[n];
  iovec iov[n];
  sockaddr_nl from[n];
  std::memset(msgs, 0, sizeof msgs);
  for (size_t i = 0; i < n; i++) {
    iov[i] = {rxbuf_.slot(i), ReceiveBuffer::kSlotSize};
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int got = recvmmsg(mnl_socket_get_fd(nl_), msgs, n, wait ? MSG_WAITFORONE : MSG_DONTWAIT, nullptr);
  if (got <= 0) return got < 0 ? -1 : 0;
  for (int i = 0; i < got; i++) {
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      errno = ENOSPC;
      return -1;
    }
    if (from[i].nl_pid != 0) continue;  // not from the kernel
    const auto* msg = reinterpret_cast<const nlmsghdr*>(rxbuf_.slot(static_cast<size_t>(i)));
    int len = static_cast<int>(msgs[i].msg_len);
    for (; message_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) on_message(msg);
  }
  return got;
}

void RouteSocket::execute(Batch& batch, std::vector<OpResult>& results,
                          const std::function<void()>& after_chunk) {
  // A chunk's acknowledgements wait in the receive buffer, and a chunk is one sendmsg.
  if (batch.size() > 64 || batch.buf.size() > 64 * 1024) grow_buffers();
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
  auto on_ack = [&](const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != NLMSG_ERROR) return;
    uint32_t offset = nlh->nlmsg_seq - first_seq;
    if (offset >= part.size() || acked[offset]) return;
    auto error = ack_error(nlh);
    if (!error) return;
    OpResult& r = results[part[offset]];
    r.error = *error;
    r.message = extack_message(nlh);
    acked[offset] = true;
    pending--;
  };
  while (pending > 0) {
    if (receive(on_ack) < 0) {
      int err = errno;
      if (err == EINTR) continue;
      for (size_t j = 0; j < part.size(); j++) {
        if (acked[j]) continue;
        results[part[j]].error = err;
        results[part[j]].message = "acknowledgement lost: " + errno_text(err);
      }
      return;
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
    auto on_answer = [&](const nlmsghdr* nlh) {
      uint32_t offset = nlh->nlmsg_seq - first_seq;
      if (offset >= n) return;
      if (nlh->nlmsg_type == RTM_NEWLINK && has_header(nlh, sizeof(ifinfomsg))) {
        const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
        names_[wanted[k + offset]] = static_cast<uint32_t>(ifi->ifi_index);
        pending--;
      } else if (nlh->nlmsg_type == NLMSG_ERROR) {
        pending--;
      }
    };
    while (pending > 0) {
      if (receive(on_answer) < 0) {
        if (errno == EINTR) continue;
        return;
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

// One request as it goes to the kernel. Every qdisc request is answered by one shared dump.
struct RouteSocket::Wire {
  DumpRequest req;                 // as sent: the interface resolved, when it had to be
  std::vector<size_t> users;       // the requests it answers (none: a name lookup)
  std::vector<std::string> names;  // per user: the interface name its objects must be on ("": any)
  std::vector<uint32_t> only;      // per user: the interface index its objects must be on (0: any)
  int attempts = 0;
  // This round's state.
  bool done = false;
  bool interrupted = false;
  bool busy = false;
  bool sent = false;
  bool dump() const { return !req.get(); }
};

void RouteSocket::read(const std::vector<DumpRequest>& requests, DumpSink& sink) {
  names_.clear();
  std::vector<Wire> wires;
  // Link gets by name first: they answer for those links and tell the interface indexes the
  // other requests need (a name no get asks for gets a lookup of its own).
  std::unordered_map<std::string, size_t> gets;
  auto get_for = [&](const std::string& name) {
    auto found = gets.find(name);
    if (found != gets.end()) return found->second;
    wires.emplace_back();
    wires.back().req.kind = DumpKind::Link;
    wires.back().req.dev.name = name;
    wires.back().req.optional = true;
    wires.back().req.stats = false;
    gets.emplace(name, wires.size() - 1);
    return wires.size() - 1;
  };
  for (size_t i = 0; i < requests.size(); i++) {
    const DumpRequest& req = requests[i];
    if (!req.get() || !req.dev.by_name() || req.dev.index) continue;
    Wire& w = wires[get_for(req.dev.name)];
    // A lookup that is also asked for keeps the request's own options.
    if (w.users.empty())
      w.req = req;
    else if (w.req.optional && !req.optional)
      w.req.optional = false;
    w.users.push_back(i);
    w.names.emplace_back();
    w.only.push_back(0);
  }
  size_t qdisc_wire = SIZE_MAX;
  for (size_t i = 0; i < requests.size(); i++) {
    const DumpRequest& req = requests[i];
    if (req.get() && req.dev.by_name() && !req.dev.index) continue;
    bool by_name = req.dev.by_name() && req.kind != DumpKind::Link;
    if (by_name) get_for(req.dev.name);
    size_t w = req.kind == DumpKind::Qdisc ? qdisc_wire : SIZE_MAX;
    if (w == SIZE_MAX) {
      w = wires.size();
      wires.emplace_back();
      wires[w].req = req;
      if (req.kind == DumpKind::Qdisc) {
        qdisc_wire = w;
        wires[w].req.dev = IfRef{};
        wires[w].req.has_parent = false;
      }
    }
    wires[w].users.push_back(i);
    wires[w].names.push_back(by_name ? req.dev.name : "");
    wires[w].only.push_back(req.kind == DumpKind::Link ? 0 : req.dev.index);
  }

  struct Counting : DumpSink {
    DumpSink& inner;
    std::vector<size_t> delivered;
    Counting(DumpSink& s, size_t n) : inner(s), delivered(n, 0) {}
    void message(size_t request, const nlmsghdr* nlh) override {
      delivered[request]++;
      inner.message(request, nlh);
    }
    void restart(size_t request) override {
      delivered[request] = 0;
      inner.restart(request);
    }
  } counting(sink, requests.size());

  int error = 0;
  std::string message;
  std::deque<size_t> queue;
  for (size_t w = 0; w < wires.size(); w++) queue.push_back(w);
  if (wires.size() > 8) grow_buffers();
  size_t depth = pipeline_depth();
  while (!queue.empty() && !error) {
    // One sendmsg: gets, and at most two dumps (a dump that answers with objects keeps the
    // kernel busy with it until read, so the next one is refused with EBUSY and sent again;
    // an empty one ends at once and lets the next start).
    std::vector<size_t> round;
    std::deque<size_t> later;
    std::unordered_map<std::string, bool> resolving;
    size_t dumps = 0;
    while (!queue.empty() && round.size() < depth && dumps < 2) {
      size_t w = queue.front();
      queue.pop_front();
      Wire& wire = wires[w];
      bool fits = !wire.dump() || dumps < 2;
      // A filter, class or chain dump needs its interface's index in the request: known from an
      // earlier round. The qdisc dump is filtered as it arrives: a get before it in the same
      // sendmsg will do.
      bool ready = true;
      for (const std::string& name : wire.names) {
        if (name.empty() || names_.count(name)) continue;
        if (wire.req.kind == DumpKind::Qdisc && resolving.count(name)) continue;
        ready = false;
      }
      if (!fits || !ready) {
        later.push_back(w);
        continue;
      }
      if (wire.req.per_interface() && wire.names[0].size()) {
        uint32_t index = names_[wire.names[0]];
        if (!index) {
          // No such interface: nothing to read for an optional request.
          if (!requests[wire.users[0]].optional && !error) {
            error = ENODEV;
            message = "interface \"" + wire.names[0] + "\" does not exist";
          }
          continue;
        }
        wire.req.dev = IfRef{index, ""};
      }
      if (wire.req.get() && wire.req.dev.by_name()) resolving[wire.req.dev.name] = true;
      if (wire.dump()) dumps++;
      round.push_back(w);
    }
    if (error) break;
    if (round.empty()) {
      // Every request left was for an interface that is not there.
      if (later.empty() && queue.empty()) break;
      throw SystemError(EINVAL, "read: requests wait on interface names nothing resolves");
    }
    std::vector<size_t> again;
    read_round(wires, round, requests, counting, again, error, message);
    bool interrupted = false;
    int attempt = 0;
    for (size_t w : again) {
      if (!wires[w].interrupted) continue;
      interrupted = true;
      attempt = std::max(attempt, wires[w].attempts);
      if (++wires[w].attempts >= kDumpRetries && !error) {
        error = EINTR;
        message = "dump kept being interrupted by concurrent changes";
      }
    }
    // What must go again goes first, then what waited, then the rest.
    for (auto it = later.rbegin(); it != later.rend(); ++it) queue.push_front(*it);
    for (auto it = again.rbegin(); it != again.rend(); ++it) queue.push_front(*it);
    // Something changed a table mid-dump; give a burst of changes a moment to pass.
    if (interrupted && !error)
      std::this_thread::sleep_for(std::chrono::milliseconds(1 << std::min(attempt, 6)));
  }
  if (error) throw SystemError(error, message);
  for (size_t i = 0; i < requests.size(); i++) {
    const DumpRequest& req = requests[i];
    if (req.optional || req.kind == DumpKind::Link) continue;
    std::string dev = req.dev.by_name() ? "\"" + req.dev.name + "\"" : std::to_string(req.dev.index);
    if (req.dev.by_name() && !names_[req.dev.name])
      throw SystemError(ENODEV, "interface " + dev + " does not exist");
    if (req.kind == DumpKind::Qdisc && req.has_parent && !counting.delivered[i])
      throw SystemError(ENOENT, "dump failed: " + errno_text(ENOENT) + " (no qdisc at parent " +
                                    handle_name(req.parent, HandleContext::QdiscParent) + " of interface " +
                                    dev + ")");
  }
}

void RouteSocket::read_round(std::vector<Wire>& wires, const std::vector<size_t>& round,
                             const std::vector<DumpRequest>& requests, DumpSink& sink,
                             std::vector<size_t>& again, int& error, std::string& message) {
  // Each message reserves kMaxMessage while it is built: one buffer per thread, kept, instead
  // of mapping and unmapping 128 KiB for every read.
  thread_local Batch batch;
  batch.clear();
  uint32_t first = seq_;
  for (size_t w : round) {
    Wire& wire = wires[w];
    encode_dump(batch, wire.req);
    batch.message(batch.size() - 1)->nlmsg_seq = seq_++;
    // A dump read again starts over for every request it answers.
    if (wire.sent)
      for (size_t u : wire.users) sink.restart(u);
    wire.done = wire.interrupted = wire.busy = false;
    wire.sent = true;
  }
  if (mnl_socket_sendto(nl_, batch.buf.data(), batch.buf.size()) < 0) {
    int err = errno;
    throw SystemError(err, "sending the dump request failed: " + errno_text(err));
  }
  sendmsg_calls_++;
  size_t pending = round.size();
  bool lost = false;  // the receive buffer overflowed: some answers never come
  auto on_answer = [&](const nlmsghdr* msg) {
    uint32_t k = msg->nlmsg_seq - first;
    if (k >= round.size()) return;  // an answer to an earlier call
    Wire& wire = wires[round[k]];
    if (wire.done) return;
    if (msg->nlmsg_flags & NLM_F_DUMP_INTR) wire.interrupted = true;
    if (msg->nlmsg_type == NLMSG_DONE) {
      wire.done = true;
      pending--;
      return;
    }
    if (msg->nlmsg_type == NLMSG_ERROR) {
      auto error_code = ack_error(msg);
      if (!error_code) return;
      if (*error_code == 0) {
        // Only an acknowledged get (an action module load) is answered by a bare ACK.
        if (wire.req.get()) {
          wire.done = true;
          pending--;
        }
        return;
      }
      int code = *error_code;
      wire.done = true;
      pending--;
      if (wire.req.get() && wire.req.dev.by_name()) names_.emplace(wire.req.dev.name, 0);
      // Another dump of this call was still running: this one goes again after it.
      if (code == EBUSY && wire.dump()) {
        wire.busy = true;
        return;
      }
      // What an optional request asks for may not be there: no such interface or hook.
      if (wire.req.optional && (code == ENODEV || code == ENOENT || code == EINVAL)) return;
      if (!error) {
        std::string text = extack_message(msg);
        error = code;
        message = "dump failed: " + errno_text(code) + (text.empty() ? "" : " (" + text + ")");
      }
      return;
    }
    if (wire.req.get()) {
      // A get ends with its one answer.
      wire.done = true;
      pending--;
      if (msg->nlmsg_type == RTM_NEWLINK && wire.req.dev.by_name())
        names_[wire.req.dev.name] = message_ifindex(msg);
    }
    for (size_t j = 0; j < wire.users.size(); j++) {
      uint32_t only = wire.only[j];
      if (!wire.names[j].empty()) {
        auto found = names_.find(wire.names[j]);
        if (found == names_.end() || !found->second) continue;
        only = found->second;
      }
      if (dump_wants(requests[wire.users[j]], only, msg)) sink.message(wire.users[j], msg);
    }
  };
  while (pending > 0) {
    if (receive(on_answer, !lost) >= 0) continue;
    int err = errno;
    if (err == EINTR) continue;
    if (err == ENOBUFS && !lost) {
      lost = true;
      continue;
    }
    if (lost && (err == EAGAIN || err == EWOULDBLOCK)) break;
    throw SystemError(err, "receiving the dump failed: " + errno_text(err));
  }
  for (size_t w : round) {
    Wire& wire = wires[w];
    if (!wire.done && lost) wire.interrupted = true;  // its answer was lost: read it again
    if (wire.busy || wire.interrupted) again.push_back(w);
  }
}

size_t RouteSocket::pipeline_depth() const {
  // Each answer takes buffer space until read: a dump's up to 32 KiB, a get's a few KiB.
  size_t depth = static_cast<size_t>(receive_buffer_ > 0 ? receive_buffer_ : 212992) / 2 / 32768;
  return std::max<size_t>(2, std::min<size_t>(depth, 256));
}

void RouteSocket::dump(const DumpRequest& req, DumpReply& out) {
  struct Collect : DumpSink {
    DumpReply& out;
    explicit Collect(DumpReply& o) : out(o) {}
    void message(size_t, const nlmsghdr* nlh) override {
      out.offsets.push_back(out.data.size());
      const auto* bytes = reinterpret_cast<const uint8_t*>(nlh);
      out.data.insert(out.data.end(), bytes, bytes + nlh->nlmsg_len);
      out.data.resize(NLMSG_ALIGN(out.data.size()));  // the next message aligned, as decoders read it
    }
    void restart(size_t) override {
      out.data.clear();
      out.offsets.clear();
    }
  } collect(out);
  out.data.clear();
  out.offsets.clear();
  read({req}, collect);
}

}  // namespace netqos
