// ingress: the classic hook for filters on received traffic; fixed parent and handle ffff:.
#include <linux/pkt_sched.h>

#include "registry.h"

namespace netqos {

extern const QdiscKind ingress_qdisc = {"ingress", TC_H_INGRESS, TC_H_MAKE(TC_H_INGRESS, 0),
                                        nullptr,   nullptr,      nullptr};

}  // namespace netqos
