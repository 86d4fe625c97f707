// tc's vocabulary, as iproute2's tc_util.c has it: handles ("root", "1:", "ffff:", "1:10"),
// protocols, control actions ("pipe", "goto chain 3"), classifier flags, rates in bit/s, and hex
// strings (cookies). Shared by the generic encoder and decoder and by every kind file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fields.h"

namespace netqos {

// Where a handle appears decides which names it may take.
enum class HandleContext { QdiscParent, FilterParent, Handle, ClassId };
// "root", "ingress", "clsact", "egress" (as the context allows), "none", "1:", "ffff:", "1:1",
// or a number; `fallback` when the field is absent.
uint32_t parse_handle(const FieldReader& r, const char* field, HandleContext ctx, uint32_t fallback);
std::string handle_name(uint32_t h, HandleContext ctx);

// Filter protocols by name ("all", "ip", "ipv6", ...) or EtherType number, and back.
uint16_t read_protocol(const FieldReader& r, uint16_t fallback);
std::string protocol_name(uint16_t value);

// Names for tc control actions ("ok", "drop", "pipe", "goto chain 3", ...), both ways.
int32_t parse_control(const FieldReader& r, const char* field, int32_t fallback);
std::string control_name(int32_t action);

// A classifier's skipHw / skipSw as TCA_CLS_FLAGS_* (exclusive, as the kernel requires), and back.
uint32_t read_cls_flags(const FieldReader& r);
void write_cls_flags(uint32_t flags, FieldWriter& w);

// A rate field in bit/s (as tc's "rate 10mbit") as the bytes/s the kernel wants; 0 when absent
// and not required.
uint64_t read_rate_bytes(const FieldReader& r, const char* field, bool required);

// An IPv4 or IPv6 address with an optional prefix length ("198.18.0.0/15", "2001:2::1").
struct IpPrefix {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t addr[16] = {};
  size_t len = 0;  // 4 or 16
  int bits = 0;    // the prefix length (len * 8 when none was given)
  // The mask of `bits` leading ones, len bytes.
  void mask(uint8_t out[16]) const;
};
// r's `field` as an address (family AF_INET, AF_INET6, or AF_UNSPEC for either); with_prefix:
// "/N" allowed.
IpPrefix read_ip(const FieldReader& r, const char* field, int family, bool with_prefix);
std::string ip_text(int family, const void* addr);
// An address and its mask as text: the address alone for a full mask, "/N" for a prefix, else
// "address/mask".
std::string ip_masked_text(int family, const uint8_t* addr, const uint8_t* mask);

// MAC addresses: "02:00:00:00:00:01".
bool parse_mac(const std::string& s, uint8_t out[6]);
std::string mac_text(const uint8_t* mac);

// Fields that take one of a few names ("diffserv4", "push", "transport", ...).
struct NamedValue {
  const char* name;
  uint32_t value;
};
// r's `field` as the value of one of `names` (`fallback` when absent); another string fails,
// listing the names.
uint32_t read_named(const FieldReader& r, const char* field, const NamedValue* names, size_t count,
                    uint32_t fallback);
template <size_t N>
uint32_t read_named(const FieldReader& r, const char* field, const NamedValue (&names)[N],
                    uint32_t fallback) {
  return read_named(r, field, names, N, fallback);
}
// The name of `value` in `names`, or null.
const char* name_of(const NamedValue* names, size_t count, uint32_t value);
template <size_t N>
const char* name_of(const NamedValue (&names)[N], uint32_t value) {
  return name_of(names, N, value);
}

// Hex strings (cookies) to bytes and back.
int hex_digit(char c);
std::vector<uint8_t> parse_hex(const FieldReader& r, const char* field, size_t max_bytes);
std::string to_hex(const void* data, size_t len);

}  // namespace netqos
