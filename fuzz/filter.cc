// Filter dumps (RTM_NEWTFILTER): u32 and matchall options, and the action lists inside them
// (every action kind's options, cookies, statistics); and filter notifications, where a deleted
// filter without a handle stands for a whole priority.
#include <linux/rtnetlink.h>

#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msgs = netqos_fuzz::messages(data, size, {RTM_NEWTFILTER, RTM_DELTFILTER});
  netqos_fuzz::decode_reply(msgs);
  netqos_fuzz::decode_events(msgs);
  return 0;
}
