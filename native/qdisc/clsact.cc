// clsact: ingress and egress filter hooks without a queue; same parent and handle as ingress.
#include <linux/pkt_sched.h>

#include "registry.h"

namespace netqos {

extern const QdiscKind clsact_qdisc = {"clsact", TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0),
                                       nullptr,  nullptr,     nullptr};

}  // namespace netqos
