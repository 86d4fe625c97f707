// The field readers and the encoders, fed arbitrary operations: a Value tree built from the input
// (each kind's fields, most of them with a value of their type near the edges the encoders
// check, some with anything, so that most inputs are nearly valid operations and reach deep
// into each encoder), read through PlainReader by
// encode_operation (every kind's encoder) and by read_dump_request/encode_dump. What is refused
// must be refused with an InvalidArgument whose message stays short (values are quoted by a
// prefix); what is accepted must be well-formed messages within kMaxMessage, which are then
// decoded back (a request has the layout of the reply).
#include <fuzzer/FuzzedDataProvider.h>
#include <linux/netlink.h>

#include <cmath>
#include <string>
#include <vector>

#include "decode.h"
#include "dump_request.h"
#include "operation.h"
#include "plain_fields.h"
#include "replies.h"

using netqos::Value;

namespace {

// What a field holds, for generating a plausible value of it.
enum class T {
  U8,
  U16,
  U32,
  U64,
  Rate,
  I32,
  Bool,
  Dev,
  Handle,
  Word,
  Control,
  Hex,
  Objects,
  Strings,
  Percent,  // a number 0..100, fractions too
  Ints,     // a list of small integers (a priomap, a distribution table)
  Object,   // one object of `items`' shape
};
struct Field {
  const char* name;
  T type;
  const char* const* words = nullptr;   // T::Word: the names it takes
  const struct Shape* items = nullptr;  // T::Objects: the shape of each element
};
struct Shape {
  std::vector<Field> fields;
};

const char* const kVerbs[] = {"add", "replace", "change", "delete", nullptr};
const char* const kQdiscKinds[] = {"tbf",        "ingress", "clsact", "htb", "hfsc",     "prio",
                                   "pfifo_fast", "pfifo",   "bfifo",  "sfq", "fq_codel", "codel",
                                   "fq",         "cake",    "netem",  "red", nullptr};
const char* const kClassKinds[] = {"htb", "hfsc", "prio", nullptr};
const char* const kFilterKinds[] = {"u32", "matchall", "flower", "fw", "bpf", "basic", "flow", nullptr};
const char* const kProtocols[] = {"all", "ip", "ipv6", "arp", "802.1q", "802.1ad", "ipx", nullptr};
const char* const kDirections[] = {"egress", "ingress", "up", nullptr};
const char* const kModes[] = {"redirect", "mirror", "steal", nullptr};
const char* const kHtypes[] = {"network", "eth", "ipv4", "ipv6", "tcp", "udp", "icmp", nullptr};
const char* const kCmds[] = {"set", "add", "xor", nullptr};
const char* const kChecksums[] = {"ipv4h", "ip4h",    "icmp", "igmp", "tcp",
                                  "udp",   "udplite", "sctp", "ah",   nullptr};
const char* const kPtypes[] = {"host", "broadcast", "multicast", "otherhost", "loopback", nullptr};
const char* const kLinkKinds[] = {"ifb", "veth", "dummy", nullptr};
const char* const kDumpTypes[] = {"qdisc", "filter", "link", "action", "class", "chain", nullptr};
const char* const kActionKinds[] = {"police", "mirred", "pedit", "csum",       "skbedit",
                                    "gact",   "nat",    "vlan",  "tunnel_key", "connmark",
                                    "ct",     "sample", "bpf",   "ife",        nullptr};
const char* const kDistributions[] = {"normal", "pareto", "paretonormal", "uniform", nullptr};
const char* const kLossModels[] = {"random", "state", "gemodel", "burst", nullptr};
const char* const kDiffserv[] = {"besteffort", "diffserv3", "diffserv4", "diffserv8", "precedence", nullptr};
const char* const kFlowModes[] = {"flowblind",    "srchost",      "dsthost",        "hosts", "flows",
                                  "dual-srchost", "dual-dsthost", "triple-isolate", nullptr};
const char* const kAckFilters[] = {"none", "filter", "aggressive", nullptr};
const char* const kAtm[] = {"none", "atm", "ptm", "noatm", nullptr};
const char* const kIpProtos[] = {"tcp", "udp", "sctp", "icmp", "icmpv6", "gre", "6", nullptr};
const char* const kAddresses[] = {"198.18.0.1",  "198.18.0.0/15", "0.0.0.0/0", "2001:2::1",
                                  "2001:2::/48", "198.18.0.1/33", "::/129",    "198.18.0.256",
                                  "1.2.3",       nullptr};
const char* const kMacs[] = {
    "02:00:00:00:00:01", "02:00:00:00:00:00/24", "02:00:00:00:00:00/ff:ff:00:00:00:00",
    "02:00:00:00:00",    "02:00:00:00:00:00/49", nullptr};
const char* const kCtStates[] = {"+trk+est", "-trk", "+new+rel+inv+rpl", "trk", "+bogus", "", nullptr};
const char* const kIpFlags[] = {"frag", "nofrag", "firstfrag", "frag/nofirstfrag", "bogus", nullptr};
const char* const kVlanActions[] = {"pop", "push", "modify", "pop_eth", "push_eth", "set", "unset", nullptr};
const char* const kNatTypes[] = {"src", "dst", "masq", nullptr};
const char* const kAligns[] = {"u8", "u16", "u32", "u64", nullptr};
const char* const kLayers[] = {"link", "network", "transport", "session", nullptr};
const char* const kEmatchKinds[] = {"cmp", "meta", nullptr};
const char* const kCmpOps[] = {"eq", "lt", "gt", "ne", nullptr};
const char* const kRelations[] = {"and", "or", "xor", nullptr};
const char* const kNames[] = {"/sys/fs/bpf/nq", "cls:[*fsobj]", "prog", "", "/", nullptr};

const Shape kU32Key{{{"value", T::U32}, {"mask", T::U32}, {"offset", T::I32}, {"offmask", T::I32}}};
const Shape kPeditKey{{{"htype", T::Word, kHtypes},
                       {"cmd", T::Word, kCmds},
                       {"offset", T::I32},
                       {"value", T::U32},
                       {"mask", T::U32},
                       {"at", T::U32},
                       {"offmask", T::U32},
                       {"shift", T::U8}}};
const Shape kInsn{{{"code", T::U16}, {"jt", T::U8}, {"jf", T::U8}, {"k", T::U32}}};
const Shape kProgramBytecode{
    {{"bytecode", T::Objects, nullptr, &kInsn}, {"fd", T::U32}, {"pinned", T::Word, kNames}, {"id", T::U32}}};
const Shape kNat{{{"type", T::Word, kNatTypes},
                  {"addrMin", T::Word, kAddresses},
                  {"addrMax", T::Word, kAddresses},
                  {"portMin", T::U16},
                  {"portMax", T::U16}}};
// Every action kind's fields in one shape: the generator picks some of them.
const Shape kAction{{{"kind", T::Word, kActionKinds},
                     {"cookie", T::Hex},
                     {"index", T::U32},
                     {"rate", T::Rate},
                     {"burst", T::U32},
                     {"mtu", T::U32},
                     {"peakrate", T::Rate},
                     {"pktRate", T::U64},
                     {"pktBurst", T::U32},
                     {"exceed", T::Control},
                     {"conform", T::Control},
                     {"control", T::Control},
                     {"dev", T::Dev},
                     {"direction", T::Word, kDirections},
                     {"mode", T::Word, kModes},
                     {"keys", T::Objects, nullptr, &kPeditKey},
                     {"update", T::Strings, kChecksums},
                     {"priority", T::Handle},
                     {"mark", T::U32},
                     {"mask", T::U32},
                     {"queueMapping", T::U16},
                     {"ptype", T::Word, kPtypes},
                     {"inheritDsfield", T::Bool},
                     {"action", T::Word, kVlanActions},
                     {"id", T::U16},
                     {"protocol", T::Word, nullptr},
                     {"dstMac", T::Word, kMacs},
                     {"srcMac", T::Word, kMacs},
                     {"srcIp", T::Word, kAddresses},
                     {"dstIp", T::Word, kAddresses},
                     {"keyId", T::U32},
                     {"dstPort", T::U16},
                     {"tos", T::U8},
                     {"ttl", T::U8},
                     {"checksum", T::Bool},
                     {"zone", T::U16},
                     {"commit", T::Bool},
                     {"force", T::Bool},
                     {"clear", T::Bool},
                     {"markMask", T::U32},
                     {"label", T::Hex},
                     {"labelMask", T::Hex},
                     {"nat", T::Object, nullptr, &kNat},
                     {"group", T::U32},
                     {"trunc", T::U32},
                     {"program", T::Object, nullptr, &kProgramBytecode},
                     {"name", T::Word, kNames},
                     {"old", T::Word, kAddresses},
                     {"new", T::Word, kAddresses}}};
const Shape kLoss{{{"model", T::Word, kLossModels},
                   {"percent", T::Percent},
                   {"correlation", T::Percent},
                   {"p13", T::Percent},
                   {"p31", T::Percent},
                   {"p32", T::Percent},
                   {"p23", T::Percent},
                   {"p14", T::Percent},
                   {"p", T::Percent},
                   {"r", T::Percent},
                   {"oneMinusH", T::Percent},
                   {"oneMinusK", T::Percent}}};
const Shape kSlot{{{"minDelayUs", T::U64},
                   {"maxDelayUs", T::U64},
                   {"packets", T::I32},
                   {"bytes", T::I32},
                   {"distribution", T::Word, kDistributions},
                   {"delayUs", T::U64},
                   {"jitterUs", T::U64}}};
const Shape kCurve{{{"m1", T::Rate}, {"dUs", T::U64}, {"m2", T::Rate}}};
const Shape kEmatch{{{"kind", T::Word, kEmatchKinds},
                     {"align", T::Word, kAligns},
                     {"offset", T::U16},
                     {"layer", T::Word, kLayers},
                     {"mask", T::U32},
                     {"op", T::Word, kCmpOps},
                     {"value", T::U32},
                     {"trans", T::Bool},
                     {"invert", T::Bool},
                     {"relation", T::Word, kRelations}}};
const Shape kQdisc{{{"dev", T::Dev},
                    {"kind", T::Word, kQdiscKinds},
                    {"parent", T::Handle},
                    {"handle", T::Handle},
                    {"rate", T::Rate},
                    {"burst", T::U32},
                    {"limit", T::U32},
                    {"latencyUs", T::U64},
                    {"bufferTicks", T::U32},
                    {"peakrate", T::Rate},
                    {"minburst", T::U32},
                    {"mpu", T::U16},
                    {"defaultClass", T::U32},
                    {"r2q", T::U32},
                    {"directQlen", T::U32},
                    {"bands", T::U8},
                    {"priomap", T::Ints},
                    {"quantum", T::U32},
                    {"perturbSec", T::U32},
                    {"divisor", T::U32},
                    {"flows", T::U32},
                    {"depth", T::U32},
                    {"headdrop", T::Bool},
                    {"targetUs", T::U32},
                    {"intervalUs", T::U32},
                    {"ecn", T::Bool},
                    {"ceThresholdUs", T::U32},
                    {"memoryLimit", T::U32},
                    {"dropBatch", T::U32},
                    {"flowLimit", T::U32},
                    {"initialQuantum", T::U32},
                    {"pacing", T::Bool},
                    {"maxrate", T::Rate},
                    {"lowRateThreshold", T::Rate},
                    {"refillDelayUs", T::U32},
                    {"buckets", T::U32},
                    {"orphanMask", T::U32},
                    {"timerSlackNs", T::U32},
                    {"horizonUs", T::U32},
                    {"horizonDrop", T::Bool},
                    {"bandwidth", T::Rate},
                    {"rttUs", T::U32},
                    {"diffserv", T::Word, kDiffserv},
                    {"flowMode", T::Word, kFlowModes},
                    {"nat", T::Bool},
                    {"wash", T::Bool},
                    {"splitGso", T::Bool},
                    {"ingress", T::Bool},
                    {"autorateIngress", T::Bool},
                    {"ackFilter", T::Word, kAckFilters},
                    {"atm", T::Word, kAtm},
                    {"overhead", T::I32},
                    {"raw", T::Bool},
                    {"memlimit", T::U32},
                    {"fwmark", T::U32},
                    {"delayUs", T::U64},
                    {"jitterUs", T::U64},
                    {"delayCorrelation", T::Percent},
                    {"distribution", T::Word, kDistributions},
                    {"loss", T::Object, nullptr, &kLoss},
                    {"duplicate", T::Percent},
                    {"duplicateCorrelation", T::Percent},
                    {"reorder", T::Percent},
                    {"reorderCorrelation", T::Percent},
                    {"gap", T::U32},
                    {"corrupt", T::Percent},
                    {"corruptCorrelation", T::Percent},
                    {"packetOverhead", T::I32},
                    {"cellSize", T::U32},
                    {"cellOverhead", T::I32},
                    {"slot", T::Object, nullptr, &kSlot}}};
const Shape kClass{{{"dev", T::Dev},
                    {"kind", T::Word, kClassKinds},
                    {"parent", T::Handle},
                    {"classid", T::Handle},
                    {"rate", T::Rate},
                    {"ceil", T::Rate},
                    {"burst", T::U32},
                    {"cburst", T::U32},
                    {"prio", T::U8},
                    {"quantum", T::U32},
                    {"mtu", T::U32},
                    {"mpu", T::U16},
                    {"overhead", T::U16},
                    {"rt", T::Object, nullptr, &kCurve},
                    {"ls", T::Object, nullptr, &kCurve},
                    {"ul", T::Object, nullptr, &kCurve}}};
const Shape kFilter{{{"dev", T::Dev},
                     {"kind", T::Word, kFilterKinds},
                     {"parent", T::Handle},
                     {"priority", T::U16},
                     {"protocol", T::Word, kProtocols},
                     {"chain", T::U32},
                     {"handle", T::U32},
                     {"classid", T::Handle},
                     {"skipHw", T::Bool},
                     {"skipSw", T::Bool},
                     {"keys", T::Objects, nullptr, &kU32Key},
                     {"actions", T::Objects, nullptr, &kAction},
                     {"indev", T::Dev},
                     {"dstMac", T::Word, kMacs},
                     {"srcMac", T::Word, kMacs},
                     {"vlanId", T::U16},
                     {"vlanPrio", T::U8},
                     {"vlanEthType", T::Word, kProtocols},
                     {"cvlanId", T::U16},
                     {"cvlanPrio", T::U8},
                     {"cvlanEthType", T::Word, kProtocols},
                     {"ipProto", T::Word, kIpProtos},
                     {"ipTos", T::U8},
                     {"ipTosMask", T::U8},
                     {"ipTtl", T::U8},
                     {"ipTtlMask", T::U8},
                     {"dstIp", T::Word, kAddresses},
                     {"srcIp", T::Word, kAddresses},
                     {"dstPort", T::U16},
                     {"dstPortMask", T::U16},
                     {"dstPortMax", T::U16},
                     {"srcPort", T::U16},
                     {"srcPortMask", T::U16},
                     {"srcPortMax", T::U16},
                     {"tcpFlags", T::U16},
                     {"tcpFlagsMask", T::U16},
                     {"icmpType", T::U8},
                     {"icmpTypeMask", T::U8},
                     {"icmpCode", T::U8},
                     {"icmpCodeMask", T::U8},
                     {"ipFlags", T::Word, kIpFlags},
                     {"ctState", T::Word, kCtStates},
                     {"ctZone", T::U16},
                     {"ctZoneMask", T::U16},
                     {"ctMark", T::U32},
                     {"ctMarkMask", T::U32},
                     {"ctLabel", T::Hex},
                     {"ctLabelMask", T::Hex},
                     {"encDstIp", T::Word, kAddresses},
                     {"encSrcIp", T::Word, kAddresses},
                     {"encKeyId", T::U32},
                     {"encDstPort", T::U16},
                     {"encTos", T::U8},
                     {"encTosMask", T::U8},
                     {"encTtl", T::U8},
                     {"encTtlMask", T::U8},
                     {"mask", T::U32},
                     {"program", T::Object, nullptr, &kProgramBytecode},
                     {"name", T::Word, kNames},
                     {"directAction", T::Bool},
                     {"matches", T::Objects, nullptr, &kEmatch}}};
const Shape kChain{
    {{"dev", T::Dev}, {"parent", T::Handle}, {"chain", T::U32}, {"template", T::Object, nullptr, &kFilter}}};
const Shape kLink{{{"name", T::Dev},
                   {"kind", T::Word, kLinkKinds},
                   {"index", T::U32},
                   {"up", T::Bool},
                   {"mtu", T::U32},
                   {"txqlen", T::U32},
                   {"group", T::U32}}};
const Shape kDump{{{"type", T::Word, kDumpTypes},
                   {"dev", T::Dev},
                   {"parent", T::Handle},
                   {"kind", T::Word, kActionKinds},
                   {"optional", T::Bool}}};

const char* const kHandles[] = {"root", "ingress",   "egress", "clsact", "none",  "1:", "ffff:",       "1:1",
                                "10:a", "ffff:fff1", "10000:", ":1",     "1:2:3", "",   "goto chain 1"};
const char* const kControls[] = {"ok",           "pass",         "drop",     "shot",
                                 "pipe",         "stolen",       "continue", "trap",
                                 "reclassify",   "goto chain 5", "jump 2",   "goto chain 268435456",
                                 "goto chain x", "jump"};
const char* const kDevs[] = {"v0", "v1", "ifb0", "lo", "eth0", "", "abcdefghijklmnop", "a b", "v0\0x"};

class Gen {
 public:
  explicit Gen(FuzzedDataProvider& p) : p_(p) {}

  // Fields of `shape`, each present or not, most with a value of their type, some with anything.
  Value object(const Shape& shape, int depth) {
    Value obj = Value::object();
    for (const Field& f : shape.fields) {
      if (!p_.ConsumeBool()) continue;
      obj[f.name] = p_.ConsumeIntegralInRange<int>(0, 15) ? typed(f, depth) : any(depth);
    }
    if (!p_.ConsumeIntegralInRange<int>(0, 15)) obj[p_.ConsumeRandomLengthString(12)] = any(depth);
    return obj;
  }

  // {op, <object>}: usually one of qdisc, class, filter, chain or link, sometimes none or several.
  Value operation() {
    Value op = Value::object();
    op["op"] = p_.ConsumeIntegralInRange<int>(0, 15) ? Value(word(kVerbs)) : any(2);
    switch (p_.ConsumeIntegralInRange<int>(0, 9)) {
      case 0:
      case 1:
      case 2:
        op["qdisc"] = object(kQdisc, 1);
        break;
      case 3:
      case 4:
      case 5:
        op["filter"] = object(kFilter, 1);
        break;
      case 6:
        op["link"] = object(kLink, 1);
        break;
      case 7:
        op["class"] = object(kClass, 1);
        break;
      case 8:
        op["chain"] = object(kChain, 1);
        break;
      default:
        op["qdisc"] = object(kQdisc, 1);
        op["link"] = any(1);
    }
    return op;
  }

  Value dump_request() { return object(kDump, 1); }

 private:
  std::string word(const char* const* words) {
    size_t n = 0;
    while (words[n]) n++;
    if (p_.ConsumeIntegralInRange<int>(0, 15)) return words[p_.ConsumeIntegralInRange<size_t>(0, n - 1)];
    return p_.ConsumeRandomLengthString(80);  // anything: long, NULs, invalid UTF-8
  }
  template <size_t N>
  std::string pick(const char* const (&words)[N]) {
    if (p_.ConsumeIntegralInRange<int>(0, 15)) return p_.PickValueInArray(words);
    return p_.ConsumeRandomLengthString(80);
  }

  uint64_t up_to(uint64_t max) {
    // Mostly small or near the bound, the edges where encoders decide.
    switch (p_.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        return p_.ConsumeIntegralInRange<uint64_t>(0, 100000 < max ? 100000 : max);
      case 1:
        return max - p_.ConsumeIntegralInRange<uint64_t>(0, 2 < max ? 2 : max);
      case 2:
        return max + p_.ConsumeIntegralInRange<uint64_t>(0, 2);
      default:
        return p_.ConsumeIntegralInRange<uint64_t>(0, max);
    }
  }

  Value typed(const Field& f, int depth) {
    switch (f.type) {
      case T::U8:
        return Value(up_to(0xFF));
      case T::U16:
        return Value(up_to(0xFFFF));
      case T::U32:
        return Value(up_to(0xFFFFFFFFu));
      case T::U64:
        return Value(up_to(~0ULL - 2));
      case T::Rate:  // bit/s: around tc's ranges, past 2^32 bytes/s, and beyond
        return Value(p_.PickValueInArray<uint64_t>({0, 7, 8, 1000000, 10000000, 34359738368ULL,
                                                    40000000000ULL, 9007199254740991ULL, ~0ULL}) +
                     p_.ConsumeIntegralInRange<uint64_t>(0, 1000));
      case T::I32:
        return Value(p_.ConsumeIntegralInRange<int64_t>(-2147483649LL, 2147483648LL));
      case T::Bool:
        return Value(p_.ConsumeBool());
      case T::Dev:
        return p_.ConsumeBool() ? Value(pick(kDevs)) : Value(up_to(0x7FFFFFFF));
      case T::Handle:
        return p_.ConsumeBool() ? Value(pick(kHandles)) : Value(up_to(0xFFFFFFFFu));
      case T::Word:
        return Value(word(f.words ? f.words : kProtocols));
      case T::Percent:
        return p_.ConsumeBool() ? Value(p_.ConsumeFloatingPointInRange<double>(-1, 101)) : Value(up_to(100));
      case T::Ints: {
        Value list = Value::array();
        size_t n = p_.ConsumeIntegralInRange<size_t>(0, p_.ConsumeIntegralInRange<int>(0, 7) ? 17 : 70000);
        for (size_t i = 0; i < n && p_.remaining_bytes(); i++)
          list.push_back(Value(p_.ConsumeIntegralInRange<int64_t>(-40000, 40000)));
        return list;
      }
      case T::Object:
        return depth < 3 ? object(*f.items, depth + 1) : any(depth + 1);
      case T::Control:
        return Value(pick(kControls));
      case T::Hex:
        return Value(p_.ConsumeBool() ? std::string("0123456789abcdef0123456789ABCDEF")
                                            .substr(0, p_.ConsumeIntegralInRange<size_t>(0, 34))
                                      : p_.ConsumeRandomLengthString(40));
      case T::Strings: {
        Value list = Value::array();
        size_t n = p_.ConsumeIntegralInRange<size_t>(0, 4);
        for (size_t i = 0; i < n; i++) list.push_back(Value(word(f.words)));
        return list;
      }
      case T::Objects: {
        Value list = Value::array();
        size_t n = p_.ConsumeIntegralInRange<size_t>(0, p_.ConsumeIntegralInRange<int>(0, 7) ? 3 : 130);
        for (size_t i = 0; i < n && p_.remaining_bytes(); i++)
          list.push_back(depth < 3 && f.items && p_.ConsumeIntegralInRange<int>(0, 15)
                             ? object(*f.items, depth + 1)
                             : any(depth + 1));
        return list;
      }
    }
    return Value::undefined();
  }

  Value number() {
    switch (p_.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        return Value(p_.ConsumeIntegral<int64_t>());
      case 1:
        return Value(p_.ConsumeIntegral<uint64_t>());
      case 2:
        return Value(p_.PickValueInArray<double>({NAN, INFINITY, -INFINITY, -0.0, 0.5, 1.5, 1e300, -1e300,
                                                  4294967296.0, 1e21, 9007199254740993.0}));
      default: {
        uint64_t bits = p_.ConsumeIntegral<uint64_t>();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return Value(d);
      }
    }
  }

  // A value of any type, for fields given the wrong one.
  Value any(int depth) {
    switch (p_.ConsumeIntegralInRange<int>(0, depth < 3 ? 7 : 5)) {
      case 0:
        return Value::undefined();
      case 1:
        return Value(nullptr);
      case 2:
        return Value(p_.ConsumeBool());
      case 3:
        return number();
      case 4:
      case 5:
        return Value(p_.ConsumeRandomLengthString(80));
      case 6:
        return Value::array({any(depth + 1), any(depth + 1)});
      default:
        return Value::object({{"dev", any(depth + 1)}});
    }
  }

  FuzzedDataProvider& p_;
};

// An error a caller sees: short however long the values in it were.
void check_refusal(const netqos::InvalidArgument& e) {
  if (std::strlen(e.what()) > 1024) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  Gen gen(p);
  // Kept across inputs, as a handle's batches are not: a fresh one maps 256 KiB each time,
  // which was most of the time of a run.
  static netqos::Batch batch, dump;
  batch.clear();
  size_t ops = p.ConsumeIntegralInRange<size_t>(1, 4);
  for (size_t i = 0; i < ops && p.remaining_bytes(); i++) {
    Value op = gen.operation();
    try {
      netqos::encode_operation(batch, netqos::PlainReader(op, "ops[" + std::to_string(i) + "]"));
    } catch (const netqos::InvalidArgument& e) {
      check_refusal(e);
    }
  }
  for (size_t i = 0; i < batch.size(); i++) {
    nlmsghdr* nlh = batch.message(i);
    if (nlh->nlmsg_len > netqos::kMaxMessage || batch.starts[i] + nlh->nlmsg_len > batch.buf.size())
      __builtin_trap();
    netqos_fuzz::SinkWriter w;
    netqos::decode_object(nlh, w);
  }
  for (const auto& f : batch.fixups)
    if (f.offset + sizeof(uint32_t) > batch.buf.size() || f.name.empty() || f.name.size() > 15)
      __builtin_trap();

  Value request = gen.dump_request();
  try {
    netqos::DumpRequest req = netqos::read_dump_request(netqos::PlainReader(request, "requests[0]"));
    dump.clear();
    netqos::encode_dump(dump, req);
  } catch (const netqos::InvalidArgument& e) {
    check_refusal(e);
  }
  return 0;
}
