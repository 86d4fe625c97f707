// pfifo and bfifo: one tail-drop queue limited in packets or in bytes (iproute2's q_fifo.c).
// Without a limit no options are sent: the kernel takes the interface's txqueuelen (pfifo) or
// that times its MTU (bfifo).
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

void encode(Message& m, const FieldReader& r) {
  if (!r.has("limit")) return;
  tc_fifo_qopt opt{static_cast<uint32_t>(r.u64_in("limit", 0, 0xFFFFFFFFu, 0))};
  m.put(TCA_OPTIONS, &opt, sizeof opt);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options || mnl_attr_get_payload_len(options) < sizeof(tc_fifo_qopt)) return;
  tc_fifo_qopt opt;
  std::memcpy(&opt, mnl_attr_get_payload(options), sizeof opt);
  w.set_u64("limit", opt.limit);
}

}  // namespace

extern const QdiscKind pfifo_qdisc = {"pfifo", 0, 0, encode, decode, nullptr};
extern const QdiscKind bfifo_qdisc = {"bfifo", 0, 0, encode, decode, nullptr};

}  // namespace netqos
