// Data values and verdicts (NFTA_DATA_VALUE / NFTA_DATA_VERDICT), and the set key and data types
// nft knows them by, so that `nft list` prints what netqos made.
#include <arpa/inet.h>
#include <linux/netfilter.h>

#include <cstdio>
#include <cstring>

#include "nft/nft.h"

namespace netqos::nft {

namespace {

// NFT_DATA_VALUE_MAXLEN: the most a data value holds (four 128-bit registers).
constexpr size_t kMaxValue = 64;

const DataType kTypes[] = {
    // name, nft's datatype number, length, byte order recorded in set userdata
    {"ipv4_addr", 7, 4, 2},    {"ipv6_addr", 8, 16, 2},    {"ether_addr", 9, 6, 2},
    {"inet_proto", 12, 1, 2},  {"inet_service", 13, 2, 2}, {"mark", 19, 4, 1},
    {"iface_index", 20, 4, 1}, {"ifname", 41, 16, 1},      {"verdict", kVerdictType, 0, 0},
};

std::vector<uint8_t> ifname_bytes(const FieldReader& r, const char* field, const std::string& name) {
  if (name.empty() || name.size() > 15 || std::memchr(name.data(), 0, name.size()))
    r.fail(field, quote(name) + " is not an interface name (1..15 bytes)");
  std::vector<uint8_t> out(16, 0);
  std::memcpy(out.data(), name.data(), name.size());
  return out;
}

std::vector<uint8_t> address_bytes(const FieldReader& r, const char* field, const std::string& s, int af) {
  std::vector<uint8_t> out(af == AF_INET ? 4 : 16);
  if (inet_pton(af, s.c_str(), out.data()) != 1)
    r.fail(field, quote(s) + " is not an " + (af == AF_INET ? "IPv4" : "IPv6") + " address");
  return out;
}

std::vector<uint8_t> ether_bytes(const FieldReader& r, const char* field, const std::string& s) {
  unsigned b[6];
  char end;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) !=
      6)
    r.fail(field, quote(s) + " is not an Ethernet address (aa:bb:cc:dd:ee:ff)");
  std::vector<uint8_t> out(6);
  for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(b[i]);
  return out;
}

template <typename T>
std::vector<uint8_t> host_bytes(T v) {
  std::vector<uint8_t> out(sizeof v);
  std::memcpy(out.data(), &v, sizeof v);
  return out;
}

template <typename T>
std::vector<uint8_t> big_endian_bytes(T v) {
  std::vector<uint8_t> out(sizeof v);
  for (size_t i = 0; i < sizeof v; i++) out[sizeof v - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  return out;
}

const char* const kDataForms =
    "hex, ifname, string, ipv4, ipv6, u8, u16, u32, u64 (host order) or be16, be32, be64 (network order)";

std::string address_text(const uint8_t* data, int af) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(af, data, buf, sizeof buf) ? buf : "";
}

}  // namespace

std::vector<uint8_t> read_data(const FieldReader& r, const char* field) {
  auto d = r.object(field);
  if (!d) r.fail(field, std::string("is required (an object with one of ") + kDataForms + ")");
  std::vector<uint8_t> out;
  int forms = 0;
  if (d->has("hex")) {
    forms++;
    out = parse_hex(*d, "hex", kMaxValue);
  }
  if (auto s = d->string("ifname")) {
    forms++;
    out = ifname_bytes(*d, "ifname", *s);
  }
  if (auto s = d->string("string")) {
    forms++;
    size_t length = d->u64_in("length", 1, kMaxValue, s->size());
    if (s->size() > length) d->fail("length", std::to_string(length) + " is shorter than the string");
    out.assign(length, 0);
    std::memcpy(out.data(), s->data(), s->size());
  }
  if (auto s = d->string("ipv4")) {
    forms++;
    out = address_bytes(*d, "ipv4", *s, AF_INET);
  }
  if (auto s = d->string("ipv6")) {
    forms++;
    out = address_bytes(*d, "ipv6", *s, AF_INET6);
  }
  struct Integer {
    const char* name;
    uint64_t max;
    int bytes;
    bool big;
  };
  static const Integer kIntegers[] = {{"u8", 0xFF, 1, false},         {"u16", 0xFFFF, 2, false},
                                      {"u32", 0xFFFFFFFFu, 4, false}, {"u64", ~0ULL, 8, false},
                                      {"be16", 0xFFFF, 2, true},      {"be32", 0xFFFFFFFFu, 4, true},
                                      {"be64", ~0ULL, 8, true}};
  for (const auto& k : kIntegers) {
    if (!d->has(k.name)) continue;
    forms++;
    uint64_t v = d->u64_in(k.name, 0, k.max, 0);
    switch (k.bytes) {
      case 1:
        out = {static_cast<uint8_t>(v)};
        break;
      case 2:
        out = k.big ? big_endian_bytes(static_cast<uint16_t>(v)) : host_bytes(static_cast<uint16_t>(v));
        break;
      case 4:
        out = k.big ? big_endian_bytes(static_cast<uint32_t>(v)) : host_bytes(static_cast<uint32_t>(v));
        break;
      default:
        out = k.big ? big_endian_bytes(v) : host_bytes(v);
    }
  }
  if (forms != 1) d->fail(std::string("must have exactly one of ") + kDataForms);
  return out;
}

void put_data_value(Message& m, uint16_t type, const std::vector<uint8_t>& bytes) {
  nlattr* n = nest(m, type);
  m.put(NFTA_DATA_VALUE, bytes.data(), bytes.size());
  m.nest_end(n);
}

namespace {

struct VerdictName {
  const char* name;
  int32_t code;
};
const VerdictName kVerdicts[] = {{"accept", NF_ACCEPT},  {"drop", NF_DROP},   {"continue", NFT_CONTINUE},
                                 {"return", NFT_RETURN}, {"jump", NFT_JUMP},  {"goto", NFT_GOTO},
                                 {"break", NFT_BREAK},   {"queue", NF_QUEUE}, {"stolen", NF_STOLEN}};

}  // namespace

void put_verdict(Message& m, uint16_t type, const FieldReader& v) {
  auto name = v.string("verdict");
  if (!name) v.fail("verdict", "is required (accept, drop, continue, return, jump or goto)");
  const VerdictName* found = nullptr;
  for (const auto& k : kVerdicts)
    if (*name == k.name) found = &k;
  if (!found)
    v.fail("verdict",
           quote(*name) + " is not a verdict (allowed: accept, drop, continue, return, jump, goto)");
  bool needs_chain = found->code == NFT_JUMP || found->code == NFT_GOTO;
  if (needs_chain != v.has("chain"))
    v.fail("chain", needs_chain ? "is required for jump and goto" : "is only for jump and goto");
  nlattr* data = nest(m, type);
  nlattr* verdict = nest(m, NFTA_DATA_VERDICT);
  put_be32(m, NFTA_VERDICT_CODE, static_cast<uint32_t>(found->code));
  if (needs_chain) m.put_strz(NFTA_VERDICT_CHAIN, read_name(v, "chain"));
  m.nest_end(verdict);
  m.nest_end(data);
}

void decode_verdict(const nlattr* verdict, FieldWriter& w) {
  const nlattr* tb[NFTA_VERDICT_MAX + 1];
  parse_nested(verdict, tb, NFTA_VERDICT_MAX);
  auto code = static_cast<int32_t>(be32(tb[NFTA_VERDICT_CODE]));
  std::string name = std::to_string(code);
  for (const auto& k : kVerdicts)
    if (code == k.code) name = k.name;
  w.set_string("verdict", name);
  if (tb[NFTA_VERDICT_CHAIN]) w.set_string("chain", attr_string(tb[NFTA_VERDICT_CHAIN]));
}

void decode_data(const nlattr* data, FieldWriter& w, const char* field) {
  if (!data) return;
  const nlattr* tb[NFTA_DATA_MAX + 1];
  parse_nested(data, tb, NFTA_DATA_MAX);
  if (tb[NFTA_DATA_VERDICT]) {
    decode_verdict(tb[NFTA_DATA_VERDICT], w);
  } else if (tb[NFTA_DATA_VALUE]) {
    auto out = w.object(field);
    out->set_string("hex", to_hex(mnl_attr_get_payload(tb[NFTA_DATA_VALUE]),
                                  mnl_attr_get_payload_len(tb[NFTA_DATA_VALUE])));
  }
}

const DataType* find_data_type(const std::string& name) {
  for (const auto& t : kTypes)
    if (name == t.name) return &t;
  return nullptr;
}

const DataType* find_data_type(uint32_t id) {
  for (const auto& t : kTypes)
    if (id == t.id) return &t;
  return nullptr;
}

std::vector<uint8_t> read_typed(const FieldReader& r, const char* field, const DataType& type,
                                uint32_t length) {
  std::string name = type.name;
  if (name == "ifname" || name == "ipv4_addr" || name == "ipv6_addr" || name == "ether_addr") {
    auto s = r.string(field);
    if (!s) r.fail(field, std::string("is required (") + type.name + ", a string)");
    if (name == "ifname") return ifname_bytes(r, field, *s);
    if (name == "ether_addr") return ether_bytes(r, field, *s);
    return address_bytes(r, field, *s, name == "ipv4_addr" ? AF_INET : AF_INET6);
  }
  if (!r.has(field)) r.fail(field, std::string("is required (") + type.name + ", a number)");
  if (name == "inet_proto") return {static_cast<uint8_t>(r.u64_in(field, 0, 0xFF, 0))};
  if (name == "inet_service") return big_endian_bytes(static_cast<uint16_t>(r.u64_in(field, 0, 0xFFFF, 0)));
  // An interface index is what `meta iif`/`oif` load: host order, like a mark.
  if (name == "mark" || name == "iface_index")
    return host_bytes(static_cast<uint32_t>(r.u64_in(field, 0, 0xFFFFFFFFu, 0)));
  (void)length;
  r.fail(field, std::string("values of type ") + type.name + " cannot be given here");
}

void write_typed(FieldWriter& w, const char* field, const DataType* type, const uint8_t* data, size_t len) {
  std::string name = type ? type->name : "";
  if (type && type->length != len) name = "";
  if (name == "ifname") {
    w.set_string(field, std::string(reinterpret_cast<const char*>(data),
                                    strnlen(reinterpret_cast<const char*>(data), len)));
  } else if (name == "ipv4_addr" || name == "ipv6_addr") {
    w.set_string(field, address_text(data, name == "ipv4_addr" ? AF_INET : AF_INET6));
  } else if (name == "ether_addr") {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", data[0], data[1], data[2], data[3],
                  data[4], data[5]);
    w.set_string(field, buf);
  } else if (name == "inet_proto") {
    w.set_u64(field, data[0]);
  } else if (name == "inet_service") {
    w.set_u64(field, static_cast<uint64_t>(data[0]) << 8 | data[1]);
  } else if (name == "mark" || name == "iface_index") {
    uint32_t v;
    std::memcpy(&v, data, 4);
    w.set_u64(field, v);
  } else {
    w.set_string(field, to_hex(data, len));
  }
}

}  // namespace netqos::nft
