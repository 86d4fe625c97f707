// Acknowledgements and errors (NLMSG_ERROR), with and without extended-ack attributes, capped
// or carrying the request back: the errno and the kernel's message, as the apply and dump
// paths read them.
#include <linux/rtnetlink.h>

#include "replies.h"
#include "socket.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const auto& m : netqos_fuzz::messages(data, size, {NLMSG_ERROR})) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
    if (auto error = netqos::ack_error(nlh)) {
      std::string text = netqos::extack_message(nlh);
      if (*error < 0 || *error > 4095) __builtin_trap();  // a positive errno or 0, always
      (void)text;
    }
  }
  return 0;
}
