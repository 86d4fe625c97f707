// Qdisc dumps and gets (RTM_NEWQDISC): every qdisc kind's options (tbf; ingress and clsact have
// none; unknown kinds keep their common fields), statistics, and notifications.
#include <linux/rtnetlink.h>

#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msgs = netqos_fuzz::messages(data, size, {RTM_NEWQDISC, RTM_DELQDISC});
  netqos_fuzz::decode_reply(msgs);
  netqos_fuzz::decode_events(msgs);
  return 0;
}
