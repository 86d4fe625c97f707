#include "monitor.h"

#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "socket.h"

namespace netqos {

namespace {

// Room for the notifications of one apply chunk (1,024 messages) several times over: each
// notification takes a few KiB of buffer in the kernel.
constexpr int kDefaultReceiveBuffer = 64 * 1024 * 1024;

bool wanted(uint16_t type) {
  switch (type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
    case RTM_NEWQDISC:
    case RTM_DELQDISC:
    case RTM_NEWTFILTER:
    case RTM_DELTFILTER:
    case RTM_NEWACTION:
    case RTM_DELACTION:
      return true;
    default:
      return false;
  }
}

}  // namespace

Monitor::Monitor(const std::string& netns, int receive_buffer)
    : Monitor(netns, receive_buffer,
              {NETLINK_ROUTE, (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_TC - 1)), wanted,
               "link and tc notifications"}) {}

Monitor::Monitor(const std::string& netns, int receive_buffer, const MonitorSpec& spec)
    : wanted_(spec.wanted) {
  nl_ = open_in_namespace(netns, spec.protocol);
  set_option(nl_, SOL_SOCKET, SO_RCVBUFFORCE, receive_buffer > 0 ? receive_buffer : kDefaultReceiveBuffer,
             SO_RCVBUF);
  int fd = mnl_socket_get_fd(nl_);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (mnl_socket_bind(nl_, spec.groups, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl_);
    throw SystemError(err, std::string("subscribing to ") + spec.what + " failed: " + strerror(err));
  }
}

Monitor::~Monitor() {
  if (nl_) mnl_socket_close(nl_);
}

void Monitor::drain() {
  std::lock_guard<std::mutex> guard(mutex_);
  drain_locked();
}

void Monitor::take(MonitorLog& out) {
  std::lock_guard<std::mutex> guard(mutex_);
  drain_locked();
  out = std::move(log_);
  log_ = MonitorLog{};
}

void Monitor::drain_locked() {
  for (;;) {
    ssize_t got = receive_from_kernel(nl_, rxbuf_.data(), rxbuf_.size(), MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS || errno == ENOSPC) {
        // Lost notifications (or one cut short); the socket goes on delivering the ones after.
        log_.overflow = true;
        continue;
      }
      return;  // EAGAIN: nothing more queued
    }
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
    int len = static_cast<int>(got);
    for (; message_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (!wanted_(nlh->nlmsg_type)) continue;
      log_.offsets.push_back(log_.data.size());
      const auto* bytes = reinterpret_cast<const uint8_t*>(nlh);
      log_.data.insert(log_.data.end(), bytes, bytes + nlh->nlmsg_len);
      log_.data.resize(NLMSG_ALIGN(log_.data.size()));  // the next message aligned, as decoders read it
    }
  }
}

}  // namespace netqos
