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

#include "operation.h"
#include "plain_fields.h"
#include "replies.h"

using netqos::Value;

namespace {

// What a field holds, for generating a plausible value of it.
enum class T { U8, U16, U32, U64, Rate, I32, Bool, Dev, Handle, Word, Control, Hex, Objects, Strings };
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
const char* const kQdiscKinds[] = {"tbf", "ingress", "clsact", "htb", nullptr};
const char* const kFilterKinds[] = {"u32", "matchall", "flower", nullptr};
const char* const kProtocols[] = {"all", "ip", "ipv6", "arp", "802.1q", "802.1ad", "ipx", nullptr};
const char* const kDirections[] = {"egress", "ingress", "up", nullptr};
const char* const kModes[] = {"redirect", "mirror", "steal", nullptr};
const char* const kHtypes[] = {"network", "eth", "ipv4", "ipv6", "tcp", "udp", "icmp", nullptr};
const char* const kCmds[] = {"set", "add", "xor", nullptr};
const char* const kChecksums[] = {"ipv4h", "ip4h",    "icmp", "igmp", "tcp",
                                  "udp",   "udplite", "sctp", "ah",   nullptr};
const char* const kPtypes[] = {"host", "broadcast", "multicast", "otherhost", "loopback", nullptr};
const char* const kLinkKinds[] = {"ifb", "veth", "dummy", nullptr};
const char* const kDumpTypes[] = {"qdisc", "filter", "link", "action", "class", nullptr};
const char* const kActionKinds[] = {"police", "mirred", "pedit", "csum", "skbedit", "gact", "nat", nullptr};

const Shape kU32Key{{{"value", T::U32}, {"mask", T::U32}, {"offset", T::I32}, {"offmask", T::I32}}};
const Shape kPeditKey{{{"htype", T::Word, kHtypes},
                       {"cmd", T::Word, kCmds},
                       {"offset", T::I32},
                       {"value", T::U32},
                       {"mask", T::U32},
                       {"at", T::U32},
                       {"offmask", T::U32},
                       {"shift", T::U8}}};
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
                     {"inheritDsfield", T::Bool}}};
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
                    {"mpu", T::U16}}};
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
                     {"actions", T::Objects, nullptr, &kAction}}};
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

  // {op, <object>}: usually one of qdisc, filter or link, sometimes none or several.
  Value operation() {
    Value op = Value::object();
    op["op"] = p_.ConsumeIntegralInRange<int>(0, 15) ? Value(word(kVerbs)) : any(2);
    switch (p_.ConsumeIntegralInRange<int>(0, 7)) {
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
        return Value(word(f.words));
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
          list.push_back(depth < 3 && p_.ConsumeIntegralInRange<int>(0, 15) ? object(*f.items, depth + 1)
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
