// Class dumps (RTM_NEWTCLASS): htb and hfsc options and extended statistics, the classes other
// qdiscs make (prio's bands, fq_codel's flows) with their common fields; and class
// notifications.
#include <linux/rtnetlink.h>

#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msgs = netqos_fuzz::messages(data, size, {RTM_NEWTCLASS, RTM_DELTCLASS});
  netqos_fuzz::decode_reply(msgs);
  netqos_fuzz::decode_events(msgs);
  return 0;
}
