// Chain dumps (RTM_NEWCHAIN): chains of hooks and classful qdiscs, with a classifier template's
// keys (flower's); and chain notifications.
#include <linux/rtnetlink.h>

#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msgs = netqos_fuzz::messages(data, size, {RTM_NEWCHAIN, RTM_DELCHAIN});
  netqos_fuzz::decode_reply(msgs);
  netqos_fuzz::decode_events(msgs);
  return 0;
}
