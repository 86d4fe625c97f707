// Monitor notifications as a watching handle receives them: any message type (what the monitor
// does not want is skipped, as Monitor::drain and decode_event do), decoded as events.
#include <linux/rtnetlink.h>

#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msgs = netqos_fuzz::messages(data, size, {}, true);
  netqos_fuzz::decode_events(msgs);
  return 0;
}
