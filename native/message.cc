#include "message.h"

#include <unistd.h>

#include <cstring>

#include "operation.h"

namespace netqos {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

void Message::own_fd(UniqueFd fd) { batch_.fds.push_back(std::move(fd)); }

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
  // libmnl before 1.0.5 (Debian 12 has 1.0.4) leaves the alignment padding as it was, and the
  // batch buffer is not zero-filled: without this, stale bytes would travel to the kernel.
  size_t pad = MNL_ALIGN(len) - len;
  if (pad) std::memset(static_cast<uint8_t*>(mnl_nlmsg_get_payload_tail(header())) - pad, 0, pad);
}

void* Message::put_zeroed(uint16_t type, size_t len) {
  auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(header()));
  static const uint8_t zeros[4096] = {};
  if (len > sizeof zeros) throw InvalidArgument("attribute too large");
  put(type, zeros, len);
  return mnl_attr_get_payload(attr);
}

void Message::put_raw(const void* data, size_t len) {
  nlmsghdr* nlh = header();
  if (nlh->nlmsg_len + MNL_ALIGN(len) > kMaxMessage)
    throw InvalidArgument("message too large (over " + std::to_string(kMaxMessage) + " bytes)");
  std::memcpy(mnl_nlmsg_put_extra_header(nlh, len), data, len);
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

}  // namespace netqos
