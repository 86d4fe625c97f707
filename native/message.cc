#include "message.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include <linux/pkt_cls.h>

#include "operation.h"

namespace netqos {

Message::Message(Batch& batch, uint16_t type, uint16_t flags) : batch_(batch) {
  start_ = batch.buf.size();
  batch.buf.reserve_tail(kMaxMessage);
  nlmsghdr* nlh = mnl_nlmsg_put_header(batch.buf.data() + start_);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
}

nlmsghdr* Message::header() const { return reinterpret_cast<nlmsghdr*>(batch_.buf.data() + start_); }

void* Message::put_extra_header(size_t size) { return mnl_nlmsg_put_extra_header(header(), size); }

void Message::put(uint16_t type, const void* data, size_t len) {
  if (!mnl_attr_put_check(header(), kMaxMessage, type, len, data))
    throw InvalidArgument("message too large (over " + std::to_string(kMaxMessage) + " bytes)");
}

void* Message::put_zeroed(uint16_t type, size_t len) {
  auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(header()));
  static const uint8_t zeros[4096] = {};
  if (len > sizeof zeros) throw InvalidArgument("attribute too large");
  put(type, zeros, len);
  return mnl_attr_get_payload(attr);
}

nlattr* Message::nest_start(uint16_t type) {
  nlattr* nest = mnl_attr_nest_start_check(header(), kMaxMessage, type);
  if (!nest) throw InvalidArgument("message too large");
  nest->nla_type = type;  // libmnl always adds NLA_F_NESTED; tc sets it only where asked
  return nest;
}

void Message::nest_end(nlattr* nest) { mnl_attr_nest_end(header(), nest); }

void Message::put_ifindex_at(void* where, const IfRef& ref) {
  uint32_t index = ref.index;
  std::memcpy(where, &index, sizeof index);
  if (ref.by_name()) {
    size_t offset = static_cast<uint8_t*>(where) - batch_.buf.data();
    batch_.fixups.push_back({offset, ref.name});
  }
}

size_t Message::finish() {
  size_t len = header()->nlmsg_len;
  batch_.buf.set_size(start_ + len);
  batch_.starts.push_back(start_);
  return len;
}

// Psched: /proc/net/psched holds t2us, us2t, clock_res (hex); tc derives tick_in_usec from them.
double tick_in_usec() {
  static const double value = [] {
    unsigned t2us = 0, us2t = 0, clock_res = 0;
    FILE* f = std::fopen("/proc/net/psched", "r");
    if (f) {
      if (std::fscanf(f, "%08x%08x%08x", &t2us, &us2t, &clock_res) != 3) t2us = us2t = 0;
      std::fclose(f);
    }
    if (!t2us || !us2t || !clock_res) return 15.625;  // every kernel since 2.6.31 (64 ns ticks)
    if (clock_res == 1000000000) t2us = us2t;
    double clock_factor = static_cast<double>(clock_res) / 1e6;
    return static_cast<double>(t2us) / us2t * clock_factor;
  }();
  return value;
}

// Same truncations as tc: the time is cut to whole microseconds, then scaled to ticks.
uint32_t xmittime(uint64_t rate_bytes, uint64_t size) {
  if (rate_bytes == 0) return 0;
  double usec = 1e6 * (static_cast<double>(size) / static_cast<double>(rate_bytes));
  if (usec >= 4294967295.0) usec = 4294967295.0;
  auto whole_usec = static_cast<uint32_t>(usec);
  double ticks = static_cast<double>(whole_usec) * tick_in_usec();
  return ticks >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(ticks);
}

uint64_t xmitsize(uint64_t rate_bytes, uint32_t ticks) {
  double usec = static_cast<double>(ticks) / tick_in_usec();
  return static_cast<uint64_t>(std::llround(static_cast<double>(rate_bytes) * usec / 1e6));
}

int rate_table(uint32_t rate_bytes, uint16_t mpu, uint32_t mtu, uint32_t table[256]) {
  if (mtu == 0) mtu = 2047;
  int cell_log = 0;
  while ((mtu >> cell_log) > 255) cell_log++;
  for (int i = 0; i < 256; i++) {
    uint32_t size = static_cast<uint32_t>(i + 1) << cell_log;
    if (size < mpu) size = mpu;
    table[i] = xmittime(rate_bytes, size);
  }
  return cell_log;
}

void parse_payload(const void* data, size_t len, const nlattr** tb, uint16_t max) {
  std::memset(tb, 0, sizeof(nlattr*) * (max + 1));
  for_each_attr(data, len, [&](const nlattr* attr) {
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= max) tb[type] = attr;
  });
}

void parse_nested(const nlattr* nest, const nlattr** tb, uint16_t max) {
  parse_payload(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), tb, max);
}

namespace {
struct ControlName {
  const char* name;
  int32_t value;
};
const ControlName kControls[] = {
    {"ok", TC_ACT_OK},         {"pass", TC_ACT_OK},         {"reclassify", TC_ACT_RECLASSIFY},
    {"drop", TC_ACT_SHOT},     {"shot", TC_ACT_SHOT},       {"pipe", TC_ACT_PIPE},
    {"stolen", TC_ACT_STOLEN}, {"continue", TC_ACT_UNSPEC}, {"trap", TC_ACT_TRAP},
};

// The decimal number that follows `prefix` and ends the string ("goto chain 5": 5).
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
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s->empty() || s->size() % 2 || s->size() / 2 > max_bytes)
    r.fail(field, quote(*s) + " must be 1.." + std::to_string(max_bytes) + " bytes of hex digits");
  for (size_t i = 0; i < s->size(); i += 2) {
    int hi = nibble((*s)[i]), lo = nibble((*s)[i + 1]);
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

}  // namespace netqos
