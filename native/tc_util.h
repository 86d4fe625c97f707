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

// Hex strings (cookies) to bytes and back.
int hex_digit(char c);
std::vector<uint8_t> parse_hex(const FieldReader& r, const char* field, size_t max_bytes);
std::string to_hex(const void* data, size_t len);

}  // namespace netqos
