// Plain numeric options, one attribute per field: most kinds' options are a list of these.
// Encoding puts the attribute only when the field is given (as tc sends only what its command
// line names); decoding sets the field only when the attribute is there and long enough.
#pragma once

#include <linux/netlink.h>

#include <cstdint>

#include "fields.h"
#include "message.h"

namespace netqos {

void put_u32_field(Message& m, const FieldReader& r, const char* field, uint16_t type, uint64_t lo = 0,
                   uint64_t hi = 0xFFFFFFFFu);
void put_u8_field(Message& m, const FieldReader& r, const char* field, uint16_t type, uint64_t lo = 0,
                  uint64_t hi = 0xFF);
// A boolean field as a u32 0 or 1.
void put_flag_field(Message& m, const FieldReader& r, const char* field, uint16_t type);

// tb[type] as a number field (u8, u16, u32 or u64 by `bytes`), a boolean (u32 non-zero), or a
// signed u32.
void get_uint_field(const nlattr* const* tb, int type, size_t bytes, FieldWriter& w, const char* field);
void get_flag_field(const nlattr* const* tb, int type, FieldWriter& w, const char* field);
void get_s32_field(const nlattr* const* tb, int type, FieldWriter& w, const char* field);
// A CoDel time attribute (u32 microseconds, kept by the kernel in 1024 ns units), as it was set.
void get_codel_time_field(const nlattr* const* tb, int type, FieldWriter& w, const char* field);

}  // namespace netqos
