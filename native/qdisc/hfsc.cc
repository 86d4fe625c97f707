// hfsc: hierarchical fair service curves. The qdisc names its default class; a class has up to
// three service curves (real-time "rt", link-sharing "ls", upper limit "ul"), each a first slope
// m1 (bit/s) for d microseconds, then m2 (bit/s), as iproute2's q_hfsc.c takes "m1 d m2".
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cmath>
#include <cstring>

#include "registry.h"

namespace netqos {

namespace {

void encode_qdisc(Message& m, const FieldReader& r) {
  tc_hfsc_qopt opt{static_cast<uint16_t>(r.u64_in("defaultClass", 0, 0xFFFF, 0))};
  m.put(TCA_OPTIONS, &opt, sizeof opt);
}

void decode_qdisc(const nlattr* options, FieldWriter& w) {
  if (!options || mnl_attr_get_payload_len(options) < sizeof(tc_hfsc_qopt)) return;
  tc_hfsc_qopt opt;
  std::memcpy(&opt, mnl_attr_get_payload(options), sizeof opt);
  w.set_u64("defaultClass", opt.defcls);
}

// A curve's rate in bit/s as the kernel's u32 bytes/s.
uint32_t curve_rate(const FieldReader& c, const char* field) {
  uint64_t bytes = read_rate_bytes(c, field, false);
  if (bytes > 0xFFFFFFFFu) c.fail(field, "is above what HFSC keeps (34359738360 bit/s)");
  return static_cast<uint32_t>(bytes);
}

struct Curve {
  const char* field;
  uint16_t type;
};
const Curve kCurves[] = {{"rt", TCA_HFSC_RSC}, {"ls", TCA_HFSC_FSC}, {"ul", TCA_HFSC_USC}};

void encode_class(Message& m, const FieldReader& r) {
  // The kernel takes "root" as a class of its own and answers EEXIST: HFSC's top-level classes
  // hang from its root class, which is the qdisc's handle.
  if (r.has("parent") && parse_handle(r, "parent", HandleContext::ClassId, 0) == TC_H_ROOT)
    r.fail("parent", "\"root\" is not allowed for an HFSC class (a top-level class names its qdisc, \"1:\")");
  if (!r.has("rt") && !r.has("ls") && !r.has("ul")) r.fail("a service curve is required (rt, ls or ul)");
  if (r.has("ul") && !r.has("ls")) r.fail("ul", "needs ls (an upper limit bounds link sharing)");
  nlattr* options = m.nest_start(TCA_OPTIONS);
  for (const Curve& c : kCurves) {
    auto curve = r.object(c.field);
    if (!curve) continue;
    if (!curve->has("m2")) curve->fail("m2", "is required (the long-term rate, bit/s)");
    tc_service_curve sc{};
    sc.m1 = curve_rate(*curve, "m1");
    sc.d = static_cast<uint32_t>(static_cast<double>(curve->u64_in("dUs", 0, 0xFFFFFFFFu, 0)) *
                                 clock_factor());  // tc_core_time2ktime
    sc.m2 = curve_rate(*curve, "m2");
    if (sc.d && !sc.m1 && curve->has("m1")) curve->fail("m1", "must be above 0 with dUs");
    m.put(c.type, &sc, sizeof sc);
  }
  m.nest_end(options);
}

void decode_class(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_HFSC_MAX + 1];
  parse_nested(options, tb, TCA_HFSC_MAX);
  for (const Curve& c : kCurves) {
    if (!tb[c.type] || mnl_attr_get_payload_len(tb[c.type]) < sizeof(tc_service_curve)) continue;
    tc_service_curve sc;
    std::memcpy(&sc, mnl_attr_get_payload(tb[c.type]), sizeof sc);
    auto o = w.object(c.field);
    if (sc.m1) o->set_u64("m1", static_cast<uint64_t>(sc.m1) * 8);
    if (sc.d) o->set_u64("dUs", static_cast<uint64_t>(std::llround(sc.d / clock_factor())));
    o->set_u64("m2", static_cast<uint64_t>(sc.m2) * 8);
  }
}

// tc_hfsc_stats: a class's work and service so far, its period and level.
void xstats_class(const nlattr* app, FieldWriter& w) {
  if (mnl_attr_get_payload_len(app) < sizeof(tc_hfsc_stats)) return;
  tc_hfsc_stats x;
  std::memcpy(&x, mnl_attr_get_payload(app), sizeof x);
  w.set_u64("work", x.work);
  w.set_u64("rtwork", x.rtwork);
  w.set_u64("period", x.period);
  w.set_u64("level", x.level);
}

}  // namespace

extern const QdiscKind hfsc_qdisc = {"hfsc", 0, 0, encode_qdisc, decode_qdisc, nullptr};
extern const ClassKind hfsc_class = {"hfsc", encode_class, decode_class, xstats_class};

}  // namespace netqos
