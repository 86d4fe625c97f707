// Link dumps and gets (RTM_NEWLINK): decode_link through decode_object, and as notifications
// (new and deleted links).
#include <linux/rtnetlink.h>

#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msgs = netqos_fuzz::messages(data, size, {RTM_NEWLINK, RTM_DELLINK});
  netqos_fuzz::decode_reply(msgs);
  netqos_fuzz::decode_events(msgs);
  return 0;
}
