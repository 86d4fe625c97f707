// Building one netlink message in a batch buffer over libmnl, and walking the attributes of one
// (tc's arithmetic is in psched.h, its vocabulary in tc_util.h).
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "fields.h"

namespace netqos {

// A place in the batch buffer where an interface index goes once its name is resolved.
struct IfFixup {
  size_t offset;  // absolute offset of the u32 in the batch buffer
  std::string name;
};

// A file descriptor closed when its owner goes (a pinned BPF program a message refers to).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// Largest single message we build (a police action carries two 1 KiB rate tables).
constexpr size_t kMaxMessage = 64 * 1024;

class Batch;

// One message being written at the end of a Batch. Attribute helpers throw InvalidArgument if a
// message would outgrow kMaxMessage.
class Message {
 public:
  Message(Batch& batch, uint16_t type, uint16_t flags);
  nlmsghdr* header() const;
  void* put_extra_header(size_t size);
  void put(uint16_t type, const void* data, size_t len);
  void put_u8(uint16_t type, uint8_t v) { put(type, &v, sizeof v); }
  void put_u16(uint16_t type, uint16_t v) { put(type, &v, sizeof v); }
  void put_u32(uint16_t type, uint32_t v) { put(type, &v, sizeof v); }
  void put_u64(uint16_t type, uint64_t v) { put(type, &v, sizeof v); }
  void put_strz(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
  // Appends a zero-filled attribute and returns its payload, for structs filled in place.
  void* put_zeroed(uint16_t type, size_t len);
  // Appends bytes that are not an attribute (a struct that leads a nest's payload, as netem's,
  // prio's and the ematches' do), padded to the attribute alignment.
  void put_raw(const void* data, size_t len);
  // Opens a nest with exactly this type (add NLA_F_NESTED where iproute2 does).
  nlattr* nest_start(uint16_t type);
  void nest_end(nlattr* nest);
  // Writes ref's index at `where` (a u32 inside this message), or records a fixup to write it
  // once the name is resolved.
  void put_ifindex_at(void* where, const IfRef& ref);
  // Keeps `fd` open until the batch is sent (the message carries its number), then closes it.
  void own_fd(UniqueFd fd);
  // Finishes the message; returns its length.
  size_t finish();

 private:
  Batch& batch_;
  size_t start_;
};

// Whether a receive buffer of `len` bytes holds a whole message at nlh. libmnl's mnl_nlmsg_ok
// compares the length as an int, so a message claiming 2 GiB or more passes it.
inline bool message_ok(const nlmsghdr* nlh, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
         nlh->nlmsg_len <= static_cast<unsigned>(len);
}

// Attribute payloads read without trusting their length: a payload shorter than the type reads
// as 0, a string ends at its first NUL or at the end of the payload.
template <typename T>
T attr_value(const nlattr* a) {
  T v = 0;
  if (mnl_attr_get_payload_len(a) >= sizeof v) std::memcpy(&v, mnl_attr_get_payload(a), sizeof v);
  return v;
}
inline uint8_t attr_u8(const nlattr* a) { return attr_value<uint8_t>(a); }
inline uint16_t attr_u16(const nlattr* a) { return attr_value<uint16_t>(a); }
inline uint32_t attr_u32(const nlattr* a) { return attr_value<uint32_t>(a); }
inline uint64_t attr_u64(const nlattr* a) { return attr_value<uint64_t>(a); }
inline std::string attr_str(const nlattr* a) {
  const auto* s = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string(s, strnlen(s, mnl_attr_get_payload_len(a)));
}

// A message's payload holds at least its fixed header (ifinfomsg, tcmsg, ...).
inline bool has_header(const nlmsghdr* nlh, size_t header) {
  return mnl_nlmsg_get_payload_len(nlh) >= header;
}

// Calls f(attr) for each attribute in a payload or nest (libmnl's for_each macros are C-only).
template <typename F>
void for_each_attr(const void* data, size_t len, F f) {
  const auto* attr = static_cast<const nlattr*>(data);
  int remaining = static_cast<int>(len);
  while (mnl_attr_ok(attr, remaining)) {
    f(attr);
    remaining -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const uint8_t*>(attr) + MNL_ALIGN(attr->nla_len));
  }
}
template <typename F>
void for_each_nested(const nlattr* nest, F f) {
  for_each_attr(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), f);
}

// Attribute table parsing: tb[type] = attribute, for types 1..max.
void parse_nested(const nlattr* nest, const nlattr** tb, uint16_t max);
void parse_payload(const void* data, size_t len, const nlattr** tb, uint16_t max);

}  // namespace netqos
