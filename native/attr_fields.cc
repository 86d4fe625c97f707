#include "attr_fields.h"

#include <libmnl/libmnl.h>

#include <cstring>

#include "psched.h"

namespace netqos {

void put_u32_field(Message& m, const FieldReader& r, const char* field, uint16_t type, uint64_t lo,
                   uint64_t hi) {
  if (r.has(field)) m.put_u32(type, static_cast<uint32_t>(r.u64_in(field, lo, hi, 0)));
}

void put_u8_field(Message& m, const FieldReader& r, const char* field, uint16_t type, uint64_t lo,
                  uint64_t hi) {
  if (r.has(field)) m.put_u8(type, static_cast<uint8_t>(r.u64_in(field, lo, hi, 0)));
}

void put_flag_field(Message& m, const FieldReader& r, const char* field, uint16_t type) {
  if (auto v = r.boolean(field)) m.put_u32(type, *v ? 1 : 0);
}

void get_uint_field(const nlattr* const* tb, int type, size_t bytes, FieldWriter& w, const char* field) {
  const nlattr* a = tb[type];
  if (!a || mnl_attr_get_payload_len(a) < bytes) return;
  const void* p = mnl_attr_get_payload(a);
  uint64_t v = 0;
  if (bytes == 1) v = *static_cast<const uint8_t*>(p);
  if (bytes == 2) v = attr_u16(a);
  if (bytes == 4) v = attr_u32(a);
  if (bytes == 8) std::memcpy(&v, p, sizeof v);
  w.set_u64(field, v);
}

void get_flag_field(const nlattr* const* tb, int type, FieldWriter& w, const char* field) {
  if (tb[type] && mnl_attr_get_payload_len(tb[type]) >= 4) w.set_bool(field, attr_u32(tb[type]) != 0);
}

void get_codel_time_field(const nlattr* const* tb, int type, FieldWriter& w, const char* field) {
  if (tb[type] && mnl_attr_get_payload_len(tb[type]) >= 4)
    w.set_u64(field, codel_time_us(attr_u32(tb[type])));
}

void get_s32_field(const nlattr* const* tb, int type, FieldWriter& w, const char* field) {
  if (tb[type] && mnl_attr_get_payload_len(tb[type]) >= 4)
    w.set_i64(field, static_cast<int32_t>(attr_u32(tb[type])));
}

}  // namespace netqos
