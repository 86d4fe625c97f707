// Action dumps (replies typed RTM_GETACTION, notifications RTM_NEWACTION/RTM_DELACTION): the
// TCA_ACT_TAB table of actions with every kind's options.
#include <linux/rtnetlink.h>

#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msgs = netqos_fuzz::messages(data, size, {RTM_GETACTION, RTM_NEWACTION, RTM_DELACTION});
  netqos_fuzz::decode_reply(msgs);
  netqos_fuzz::decode_events(msgs);
  return 0;
}
