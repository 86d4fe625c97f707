#include "tc_util.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

namespace netqos {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

namespace {

struct Protocol {
  const char* name;
  uint16_t value;
};
const Protocol kProtocols[] = {{"all", ETH_P_ALL}, {"ip", ETH_P_IP},        {"ipv6", ETH_P_IPV6},
                               {"arp", ETH_P_ARP}, {"802.1q", ETH_P_8021Q}, {"802.1ad", ETH_P_8021AD}};

// Hex digits s[from, to) as a number of at most 16 bits.
bool hex16(const std::string& s, size_t from, size_t to, uint32_t& v) {
  if (from == to || to - from > 8) return false;
  v = 0;
  for (size_t i = from; i < to; i++) {
    int d = hex_digit(s[i]);
    if (d < 0) return false;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  return v <= 0xFFFF;
}

// "MAJOR:" or "MAJOR:MINOR" in hex, as tc writes handles (by hand: sscanf was most of the
// time of encoding a small batch).
bool parse_major_minor(const std::string& s, uint32_t& out) {
  size_t colon = s.find(':');
  uint32_t major = 0, minor = 0;
  if (colon == std::string::npos || !hex16(s, 0, colon, major)) return false;
  if (colon + 1 < s.size() && !hex16(s, colon + 1, s.size(), minor)) return false;
  out = TC_H_MAKE(major << 16, minor);
  return true;
}

struct ControlName {
  const char* name;
  int32_t value;
};
const ControlName kControls[] = {
    {"ok", TC_ACT_OK},         {"pass", TC_ACT_OK},         {"reclassify", TC_ACT_RECLASSIFY},
    {"drop", TC_ACT_SHOT},     {"shot", TC_ACT_SHOT},       {"pipe", TC_ACT_PIPE},
    {"stolen", TC_ACT_STOLEN}, {"continue", TC_ACT_UNSPEC}, {"trap", TC_ACT_TRAP},
};

// The decimal number that follows `prefix` and ends the string ("goto chain 5": 5); sscanf
// would also take "goto chain 5x", " jump 5" or a number that wraps.
bool digits_after(const std::string& s, const char* prefix, uint64_t& n) {
  size_t start = std::strlen(prefix);
  if (s.compare(0, start, prefix) != 0 || s.size() == start || s.size() - start > 18) return false;
  n = 0;
  for (size_t i = start; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  return true;
}

}  // namespace

uint16_t read_protocol(const FieldReader& r, uint16_t fallback) {
  if (!r.has("protocol")) return fallback;
  if (r.is_string("protocol")) {
    auto s = r.string("protocol");
    for (const auto& p : kProtocols)
      if (*s == p.name) return p.value;
    r.fail("protocol", quote(*s) +
                           " is not a protocol (allowed: all, ip, ipv6, arp, 802.1q, "
                           "802.1ad, or an EtherType number)");
  }
  return static_cast<uint16_t>(r.u64_in("protocol", 0, 0xFFFF, fallback));
}

std::string protocol_name(uint16_t value) {
  for (const auto& p : kProtocols)
    if (value == p.value) return p.name;
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", value);
  return buf;
}

uint32_t parse_handle(const FieldReader& r, const char* field, HandleContext ctx, uint32_t fallback) {
  if (!r.has(field)) return fallback;
  if (r.is_string(field)) {
    auto s = r.string(field);
    if (*s == "root") return TC_H_ROOT;
    if (ctx == HandleContext::QdiscParent && (*s == "ingress" || *s == "clsact")) return TC_H_INGRESS;
    if (ctx == HandleContext::FilterParent && *s == "ingress")
      return TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
    if (ctx == HandleContext::FilterParent && *s == "egress") return TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
    if (*s == "none") return 0;
    uint32_t handle;
    if (parse_major_minor(*s, handle)) return handle;
    std::string names = ctx == HandleContext::FilterParent  ? "root, ingress, egress, "
                        : ctx == HandleContext::QdiscParent ? "root, ingress, "
                                                            : "";
    r.fail(field, quote(*s) + " is not a handle (allowed: " + names +
                      "\"MAJOR:\" or \"MAJOR:MINOR\" in hex, or a number)");
  }
  return static_cast<uint32_t>(r.u64_in(field, 0, 0xFFFFFFFFu, fallback));
}

std::string handle_name(uint32_t h, HandleContext ctx) {
  if (h == TC_H_ROOT) return "root";
  if (ctx == HandleContext::QdiscParent && h == TC_H_INGRESS) return "ingress";
  if (ctx == HandleContext::FilterParent && h == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)) return "ingress";
  if (ctx == HandleContext::FilterParent && h == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)) return "egress";
  char buf[24];
  if (TC_H_MIN(h) == 0)
    std::snprintf(buf, sizeof buf, "%x:", TC_H_MAJ(h) >> 16);
  else
    std::snprintf(buf, sizeof buf, "%x:%x", TC_H_MAJ(h) >> 16, TC_H_MIN(h));
  return buf;
}

int32_t parse_control(const FieldReader& r, const char* field, int32_t fallback) {
  auto s = r.string(field);
  if (!s) return fallback;
  for (const auto& c : kControls)
    if (*s == c.name) return c.value;
  uint64_t n = 0;
  bool chain = digits_after(*s, "goto chain ", n);
  if (chain || digits_after(*s, "jump ", n)) {
    if (n > TC_ACT_EXT_VAL_MASK)
      r.fail(field, quote(*s) + ": the number must be at most " + std::to_string(TC_ACT_EXT_VAL_MASK));
    return static_cast<int32_t>((chain ? TC_ACT_GOTO_CHAIN : TC_ACT_JUMP) | static_cast<uint32_t>(n));
  }
  r.fail(field, quote(*s) +
                    " is not a control action (allowed: ok, pass, drop, reclassify, "
                    "pipe, stolen, continue, trap, \"goto chain N\", \"jump N\")");
}

std::string control_name(int32_t action) {
  if (TC_ACT_EXT_CMP(action, TC_ACT_GOTO_CHAIN))
    return "goto chain " + std::to_string(action & TC_ACT_EXT_VAL_MASK);
  if (TC_ACT_EXT_CMP(action, TC_ACT_JUMP)) return "jump " + std::to_string(action & TC_ACT_EXT_VAL_MASK);
  switch (action) {
    case TC_ACT_OK:
      return "ok";
    case TC_ACT_RECLASSIFY:
      return "reclassify";
    case TC_ACT_SHOT:
      return "drop";
    case TC_ACT_PIPE:
      return "pipe";
    case TC_ACT_STOLEN:
      return "stolen";
    case TC_ACT_UNSPEC:
      return "continue";
    case TC_ACT_TRAP:
      return "trap";
    default:
      return std::to_string(action);
  }
}

std::vector<uint8_t> parse_hex(const FieldReader& r, const char* field, size_t max_bytes) {
  auto s = r.string(field);
  std::vector<uint8_t> out;
  if (!s) return out;
  if (s->empty() || s->size() % 2 || s->size() / 2 > max_bytes)
    r.fail(field, quote(*s) + " must be 1.." + std::to_string(max_bytes) + " bytes of hex digits");
  for (size_t i = 0; i < s->size(); i += 2) {
    int hi = hex_digit((*s)[i]), lo = hex_digit((*s)[i + 1]);
    if (hi < 0 || lo < 0) r.fail(field, quote(*s) + " is not hex");
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string to_hex(const void* data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; i++) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

uint32_t read_named(const FieldReader& r, const char* field, const NamedValue* names, size_t count,
                    uint32_t fallback) {
  auto s = r.string(field);
  if (!s) {
    if (r.has(field)) r.fail(field, "expected a string");
    return fallback;
  }
  std::string allowed;
  for (size_t i = 0; i < count; i++) {
    if (*s == names[i].name) return names[i].value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(names[i].name);
  }
  r.fail(field, quote(*s) + " is not allowed (allowed: " + allowed + ")");
}

const char* name_of(const NamedValue* names, size_t count, uint32_t value) {
  for (size_t i = 0; i < count; i++)
    if (names[i].value == value) return names[i].name;
  return nullptr;
}

void IpPrefix::mask(uint8_t out[16]) const {
  std::memset(out, 0, 16);
  for (int i = 0; i < bits; i++) out[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
}

IpPrefix read_ip(const FieldReader& r, const char* field, int family, bool with_prefix) {
  auto s = r.string(field);
  const char* what = family == AF_INET    ? "an IPv4 address"
                     : family == AF_INET6 ? "an IPv6 address"
                                          : "an IP address";
  if (!s) r.fail(field, std::string("is required (") + what + ")");
  IpPrefix p;
  std::string text = *s;
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    if (!with_prefix) r.fail(field, quote(*s) + " must be " + what + " without a prefix length");
    std::string bits = text.substr(slash + 1);
    text.resize(slash);
    if (bits.empty() || bits.size() > 3 || bits.find_first_not_of("0123456789") != std::string::npos)
      r.fail(field, quote(*s) + " has a bad prefix length");
    p.bits = std::stoi(bits);
  }
  if ((family != AF_INET6) && inet_pton(AF_INET, text.c_str(), p.addr) == 1) {
    p.family = AF_INET;
    p.len = 4;
  } else if ((family != AF_INET) && inet_pton(AF_INET6, text.c_str(), p.addr) == 1) {
    p.family = AF_INET6;
    p.len = 16;
  } else {
    r.fail(field, quote(*s) + " is not " + what + (with_prefix ? " (with an optional /prefix)" : ""));
  }
  if (slash == std::string::npos) p.bits = static_cast<int>(p.len * 8);
  if (p.bits > static_cast<int>(p.len * 8))
    r.fail(field, quote(*s) + " has a prefix longer than the address");
  return p;
}

std::string ip_text(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(family, addr, buf, sizeof buf) ? buf : "?";
}

std::string ip_masked_text(int family, const uint8_t* addr, const uint8_t* mask) {
  size_t len = family == AF_INET ? 4 : 16;
  int bits = 0;
  bool contiguous = true;
  for (size_t i = 0; i < len * 8; i++) {
    bool set = mask[i / 8] & (0x80 >> (i % 8));
    if (set && bits != static_cast<int>(i)) contiguous = false;
    if (set) bits++;
  }
  std::string text = ip_text(family, addr);
  if (contiguous && bits == static_cast<int>(len * 8)) return text;
  if (contiguous) return text + "/" + std::to_string(bits);
  return text + "/" + ip_text(family, mask);
}

bool parse_mac(const std::string& s, uint8_t out[6]) {
  if (s.size() != 17) return false;
  for (int i = 0; i < 6; i++) {
    int hi = hex_digit(s[i * 3]), lo = hex_digit(s[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':')) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string mac_text(const uint8_t* mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                mac[5]);
  return buf;
}

uint32_t read_cls_flags(const FieldReader& r) {
  uint32_t flags = 0;
  if (r.boolean("skipHw").value_or(false)) flags |= TCA_CLS_FLAGS_SKIP_HW;
  if (r.boolean("skipSw").value_or(false)) flags |= TCA_CLS_FLAGS_SKIP_SW;
  if (flags == (TCA_CLS_FLAGS_SKIP_HW | TCA_CLS_FLAGS_SKIP_SW))
    r.fail("skipHw and skipSw are exclusive (the filter must run in hardware or in software)");
  return flags;
}

void write_cls_flags(uint32_t flags, FieldWriter& w) {
  if (flags & TCA_CLS_FLAGS_SKIP_HW) w.set_bool("skipHw", true);
  if (flags & TCA_CLS_FLAGS_SKIP_SW) w.set_bool("skipSw", true);
}

uint64_t read_rate_bytes(const FieldReader& r, const char* field, bool required) {
  auto bits = r.u64(field);
  if (!bits) {
    if (required) r.fail(field, "is required (bit/s, e.g. 10000000 for 10 Mbit/s)");
    return 0;
  }
  if (*bits < 8) r.fail(field, std::to_string(*bits) + " bit/s is too low (at least 8 bit/s)");
  return *bits / 8;
}

}  // namespace netqos
