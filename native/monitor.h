// A route-netlink socket subscribed to the link and traffic-control notification groups of one
// namespace. It never blocks: drain() moves whatever the kernel has queued into a log, and
// take() hands the log over. The apply path drains between chunks, so a large batch's own
// notifications never overflow the socket's buffer.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "socket.h"

namespace netqos {

struct MonitorLog {
  std::vector<uint8_t> data;    // notification messages, back to back
  std::vector<size_t> offsets;  // start of each message
  // The kernel dropped notifications (ENOBUFS): what the log says is incomplete.
  bool overflow = false;
};

// What a monitor listens to: a netlink protocol, its multicast groups (a bind mask), the
// message types it keeps, and how errors name them.
struct MonitorSpec {
  int protocol;
  uint32_t groups;
  bool (*wanted)(uint16_t type);
  const char* what;
};

class Monitor {
 public:
  // receive_buffer: the socket's buffer in bytes (0: the default, 64 MiB).
  Monitor(const std::string& netns, int receive_buffer);
  Monitor(const std::string& netns, int receive_buffer, const MonitorSpec& spec);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Reads every queued notification into the log; never waits.
  void drain();
  // Drains, then moves the log into `out` (which is replaced) and starts a new one.
  void take(MonitorLog& out);

 private:
  void drain_locked();

  mnl_socket* nl_ = nullptr;
  bool (*wanted_)(uint16_t type) = nullptr;
  ReceiveBuffer rxbuf_;
  MonitorLog log_;
  std::mutex mutex_;
};

}  // namespace netqos
