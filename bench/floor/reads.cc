// The read floor: the dumps netqos's reads send, done by a lean libmnl program that walks every
// attribute of every reply (and descends into the nests netqos decodes), builds nothing and
// keeps nothing but the few numbers the next request needs. No netqos engine code runs in the
// timed region, so the floor stays a floor when the engine's decoding changes.
//
//   links    dump every link (IFLA_EXT_MASK: no statistics, as netqos asks)
//   qdiscs   dump every qdisc
//   named-qdiscs  both: what naming each qdisc's interface takes
//   filters  dump the filters of the ingress hook of every interface with a clsact or ingress
//            qdisc (found by a qdisc dump before the clock starts), two dumps per sendmsg as
//            netqos sends them
//   w3read   the reads of W3 / W5 without a watching handle: links, qdiscs, then both hooks of
//            every interface that has a clsact (or ingress) qdisc
#include "reads.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "socket.h"

namespace netqos {

namespace {

using Clock = std::chrono::steady_clock;

struct Walk {
  uint64_t messages = 0;
  uint64_t attributes = 0;
  uint64_t checksum = 0;  // of every attribute's type and length, so no walk is optimised away
};

// Attributes whose payload is itself attributes, per family of message, at each depth netqos
// decodes: links (IFLA_LINKINFO), qdiscs and filters (options, statistics, action lists, each
// action's options and statistics).
bool is_nest(bool link, int depth, uint16_t type) {
  if (link) return depth == 0 && type == IFLA_LINKINFO;
  switch (depth) {
    case 0:
      return type == TCA_OPTIONS || type == TCA_STATS2;
    case 1:
      return type == TCA_U32_ACT || type == TCA_MATCHALL_ACT;  // both 7 and 2 under options
    case 2:
      return true;  // an action slot
    case 3:
      return type == TCA_ACT_OPTIONS || type == TCA_ACT_STATS;
    default:
      return false;
  }
}

void walk_attrs(const void* data, size_t len, bool link, int depth, Walk& w) {
  const auto* attr = static_cast<const nlattr*>(data);
  int remaining = static_cast<int>(len);
  while (mnl_attr_ok(attr, remaining)) {
    uint16_t type = mnl_attr_get_type(attr);
    w.attributes++;
    w.checksum += type * 131u + mnl_attr_get_payload_len(attr);
    if (is_nest(link, depth, type))
      walk_attrs(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr), link, depth + 1, w);
    remaining -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const uint8_t*>(attr) + MNL_ALIGN(attr->nla_len));
  }
}

struct HookOwner {
  uint32_t ifindex;
  bool clsact;
};

class Reader {
 public:
  explicit Reader(const std::string& netns) : nl_(open_in_namespace(netns)) {
    set_option(nl_, SOL_SOCKET, SO_RCVBUFFORCE, 32 * 1024 * 1024, SO_RCVBUF);
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) throw std::runtime_error("bind failed");
  }
  ~Reader() { mnl_socket_close(nl_); }

  // Sends the dumps, at most two per sendmsg (a dump that answers with objects keeps the
  // kernel busy until read, and the next one is refused with EBUSY; an empty one ends at once),
  // a refused one again first, and reads every answer to its end. on_message sees each reply
  // message.
  template <typename F>
  void dumps(std::vector<std::vector<uint8_t>> requests, F on_message) {
    std::deque<size_t> todo;
    for (size_t i = 0; i < requests.size(); i++) todo.push_back(i);
    while (!todo.empty()) {
      std::vector<size_t> round;
      std::vector<uint8_t> buf;
      uint32_t first = seq_;
      while (!todo.empty() && round.size() < 2) {
        size_t i = todo.front();
        todo.pop_front();
        auto* nlh = reinterpret_cast<nlmsghdr*>(requests[i].data());
        nlh->nlmsg_seq = seq_++;
        buf.insert(buf.end(), requests[i].begin(), requests[i].end());
        round.push_back(i);
      }
      if (mnl_socket_sendto(nl_, buf.data(), buf.size()) < 0) throw std::runtime_error("sendto failed");
      std::vector<size_t> again;
      size_t pending = round.size();
      while (pending) {
        // Up to four of the kernel's buffers per system call, as netqos receives them.
        mmsghdr msgs[kSlots];
        iovec iov[kSlots];
        std::memset(msgs, 0, sizeof msgs);
        for (size_t i = 0; i < kSlots; i++) {
          iov[i] = {rx_.get() + i * kSlot, kSlot};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int got = recvmmsg(mnl_socket_get_fd(nl_), msgs, kSlots, MSG_WAITFORONE, nullptr);
        if (got < 0) {
          if (errno == EINTR) continue;
          throw std::runtime_error("recv failed");
        }
        for (int i = 0; i < got; i++) {
          if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) throw std::runtime_error("a message larger than a slot");
          const auto* msg = reinterpret_cast<const nlmsghdr*>(rx_.get() + static_cast<size_t>(i) * kSlot);
          int len = static_cast<int>(msgs[i].msg_len);
          for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
            size_t k = msg->nlmsg_seq - first;
            if (k >= round.size()) continue;
            if (msg->nlmsg_type == NLMSG_DONE) {
              pending--;
            } else if (msg->nlmsg_type == NLMSG_ERROR) {
              int err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg))->error;
              if (err == EBUSY)
                again.push_back(round[k]);
              else if (err)
                throw std::runtime_error("dump failed: " + std::string(strerror(err)));
              pending--;
            } else {
              on_message(msg);
            }
          }
        }
      }
      for (auto it = again.rbegin(); it != again.rend(); ++it) todo.push_front(*it);
    }
  }

 private:
  static constexpr size_t kSlots = 4;
  static constexpr size_t kSlot = 64 * 1024;
  static constexpr size_t kRx = kSlots * kSlot;
  mnl_socket* nl_;
  std::unique_ptr<uint8_t[]> rx_{new uint8_t[kRx]};
  uint32_t seq_ = 1;
};

std::vector<uint8_t> request(uint16_t type, size_t header,
                             const std::function<void(nlmsghdr*, void*)>& fill) {
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  void* extra = mnl_nlmsg_put_extra_header(nlh, header);
  fill(nlh, extra);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

std::vector<uint8_t> link_dump() {
  return request(RTM_GETLINK, sizeof(ifinfomsg), [](nlmsghdr* nlh, void* extra) {
    static_cast<ifinfomsg*>(extra)->ifi_family = AF_UNSPEC;
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  });
}
std::vector<uint8_t> qdisc_dump() {
  return request(RTM_GETQDISC, sizeof(tcmsg),
                 [](nlmsghdr*, void* extra) { static_cast<tcmsg*>(extra)->tcm_family = AF_UNSPEC; });
}
std::vector<uint8_t> filter_dump(uint32_t ifindex, uint32_t parent) {
  return request(RTM_GETTFILTER, sizeof(tcmsg), [&](nlmsghdr*, void* extra) {
    auto* tcm = static_cast<tcmsg*>(extra);
    tcm->tcm_family = AF_UNSPEC;
    tcm->tcm_ifindex = static_cast<int>(ifindex);
    tcm->tcm_parent = parent;
  });
}

// The attribute `type` at the top level of a message after its `header`, or null.
const nlattr* find_attr(const nlmsghdr* nlh, size_t header, uint16_t type) {
  const auto* attr = reinterpret_cast<const nlattr*>(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) +
                                                     NLMSG_ALIGN(header));
  int remaining = static_cast<int>(mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(header));
  for (; mnl_attr_ok(attr, remaining); attr = mnl_attr_next(attr)) {
    remaining -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    if (mnl_attr_get_type(attr) == type) return attr;
  }
  return nullptr;
}

void walk_message(const nlmsghdr* nlh, Walk& w) {
  bool link = nlh->nlmsg_type == RTM_NEWLINK;
  size_t header = NLMSG_ALIGN(link ? sizeof(ifinfomsg) : sizeof(tcmsg));
  w.messages++;
  walk_attrs(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) + header,
             mnl_nlmsg_get_payload_len(nlh) - header, link, 0, w);
}

// The interfaces that have a hook qdisc, and whether it is a clsact (from one qdisc dump).
std::vector<HookOwner> hook_owners(Reader& r, Walk* w) {
  std::vector<HookOwner> owners;
  r.dumps({qdisc_dump()}, [&](const nlmsghdr* nlh) {
    if (w) walk_message(nlh, *w);
    const auto* tcm = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
    if (tcm->tcm_parent != TC_H_INGRESS) return;
    if (const nlattr* kind = find_attr(nlh, sizeof(tcmsg), TCA_KIND))
      owners.push_back(
          {static_cast<uint32_t>(tcm->tcm_ifindex), std::strcmp(mnl_attr_get_str(kind), "clsact") == 0});
  });
  return owners;
}

Walk run_once(Reader& r, const std::string& workload, const std::vector<HookOwner>& hooks) {
  Walk w;
  auto walk = [&](const nlmsghdr* nlh) { walk_message(nlh, w); };
  if (workload == "links") {
    r.dumps({link_dump()}, walk);
  } else if (workload == "qdiscs") {
    r.dumps({qdisc_dump()}, walk);
  } else if (workload == "named-qdiscs") {
    r.dumps({link_dump(), qdisc_dump()}, walk);
  } else if (workload == "filters") {
    std::vector<std::vector<uint8_t>> requests;
    for (const HookOwner& o : hooks)
      requests.push_back(filter_dump(o.ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)));
    r.dumps(std::move(requests), walk);
  } else {  // w3read
    r.dumps({link_dump()}, walk);
    std::vector<std::vector<uint8_t>> requests;
    for (const HookOwner& o : hook_owners(r, &w)) {
      requests.push_back(filter_dump(o.ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)));
      if (o.clsact) requests.push_back(filter_dump(o.ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)));
    }
    r.dumps(std::move(requests), walk);
  }
  return w;
}

int timed_reads(Reader& r, const std::string& workload, size_t n, unsigned long long repeats) {
  try {
    std::vector<HookOwner> hooks;
    if (workload == "filters") hooks = hook_owners(r, nullptr);
    for (unsigned long long k = 0; k < repeats; k++) {
      double cpu0 = cpu_seconds();
      auto start = Clock::now();
      Walk w = run_once(r, workload, hooks);
      double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      double cpu = cpu_seconds() - cpu0;
      std::printf(
          "{\"workload\":\"%s\",\"n\":%zu,\"seconds\":%.6f,\"perItemUs\":%.3f,\"messages\":%llu,"
          "\"attributes\":%llu,\"checksum\":%llu,\"cpuSeconds\":%.6f,\"failures\":0}\n",
          workload.c_str(), n, seconds, seconds * 1e6 / static_cast<double>(n ? n : 1),
          static_cast<unsigned long long>(w.messages), static_cast<unsigned long long>(w.attributes),
          static_cast<unsigned long long>(w.checksum), cpu);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", workload.c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool is_read_workload(const std::string& workload) {
  return workload == "links" || workload == "qdiscs" || workload == "named-qdiscs" || workload == "filters" ||
         workload == "w3read";
}

int run_reads(const std::string& netns, const std::string& workload, size_t n, unsigned long long repeats) {
  try {
    Reader r(netns);
    return timed_reads(r, workload, n, repeats);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", workload.c_str(), e.what());
    return 1;
  }
}

int serve_reads(const std::string& netns) {
  try {
    Reader r(netns);
    char line[256];
    while (std::fgets(line, sizeof line, stdin)) {
      char workload[64];
      size_t n = 0;
      if (std::sscanf(line, "%63s %zu", workload, &n) != 2 || !is_read_workload(workload)) {
        std::printf("{\"error\":\"expected: <read workload> <N>\"}\n");
      } else if (timed_reads(r, workload, n, 1) != 0) {
        std::printf("{\"error\":\"%s failed\"}\n", workload);
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace netqos
