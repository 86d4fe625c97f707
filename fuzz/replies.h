// What the decoder targets share: an input is one receive buffer of netlink messages, as a
// socket hands it over. Each message is given one of the target's message types (so the fuzzer
// explores that decoder, not the rest), copied out back to back as RouteSocket::dump collects a
// dump, and decoded as the addon decodes a read (RouteSocket::read into a RecordSink) or a
// notification (Handle::Events), into a SinkWriter and into a record stream.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "decode.h"
#include "records.h"
#include "socket.h"

namespace netqos_fuzz {

// Takes what a decoder writes and only reads it (every byte of every string), so a run costs
// the decoder's work, not building a tree: ASan's bookkeeping of each allocation made a
// PlainWriter most of the time of a run.
class SinkWriter : public netqos::FieldWriter {
 public:
  void set_u64(const char* name, uint64_t v) override { mix(name, v); }
  void set_i64(const char* name, int64_t v) override { mix(name, static_cast<uint64_t>(v)); }
  void set_number(const char* name, double v) override {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    mix(name, bits);
  }
  void set_bool(const char* name, bool v) override { mix(name, v); }
  void set_string(const char* name, const std::string& v) override {
    for (unsigned char c : v) mix(name, c);
  }
  void set_strings(const char* name, const std::vector<std::string>& v) override {
    for (const auto& s : v) set_string(name, s);
  }
  void set_numbers(const char* name, const std::vector<double>& v) override {
    for (double d : v) set_number(name, d);
  }
  std::unique_ptr<netqos::FieldWriter> object(const char* name) override {
    mix(name, 1);
    return std::make_unique<SinkWriter>();
  }
  std::unique_ptr<netqos::FieldWriter> append(const char* name) override {
    mix(name, 2);
    return std::make_unique<SinkWriter>();
  }

 private:
  static void mix(const char* name, uint64_t v) {
    static volatile uint64_t sink;
    sink = sink * 31 + v + static_cast<unsigned char>(name[0]);
  }
};

// The messages of `data` (a copy: the decoders may read it as nlmsghdr and nlattr), each with
// its type replaced by types[type % count] unless `keep_types`.
inline std::vector<std::vector<uint8_t>> messages(const uint8_t* data, size_t size,
                                                  std::initializer_list<uint16_t> types,
                                                  bool keep_types = false) {
  std::vector<uint32_t> aligned((size + 3) / 4);
  if (size) std::memcpy(aligned.data(), data, size);
  std::vector<std::vector<uint8_t>> out;
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(aligned.data());
  int len = static_cast<int>(size);
  for (; netqos::message_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(nlh);
    out.emplace_back(bytes, bytes + nlh->nlmsg_len);
    auto* copy = reinterpret_cast<nlmsghdr*>(out.back().data());
    if (!keep_types) copy->nlmsg_type = types.begin()[copy->nlmsg_type % types.size()];
  }
  return out;
}

// Decodes the messages as RouteSocket::read hands them to the addon: each to every request of a
// read that wants it (one of each kind; links also by name only, without statistics; classes
// without statistics; chains of a hook, named by it), into one record stream; the first
// request's answer restarted midway, as an interrupted dump's is.
inline void decode_records(const std::vector<std::vector<uint8_t>>& msgs) {
  using netqos::DumpKind;
  std::vector<netqos::DumpRequest> requests(7);
  requests[0].kind = DumpKind::Qdisc;
  requests[1].kind = DumpKind::Filter;
  requests[2].kind = DumpKind::Link;
  requests[3].kind = DumpKind::Link;
  requests[3].names_only = true;
  requests[3].stats = false;
  requests[4].kind = DumpKind::Action;
  requests[5].kind = DumpKind::Class;
  requests[5].stats = false;
  requests[6].kind = DumpKind::Chain;
  requests[6].parent = 0xFFFFFFF2;  // egress
  // The stream's storage kept from run to run: a read of a whole namespace reserves room for a
  // big answer, which under ASan would cost more than the decoding.
  static netqos::ValueBuffer values;
  static std::string strings;
  netqos::RecordStream stream;
  std::swap(stream.values, values);
  stream.strings.swap(strings);
  stream.values.clear();
  stream.strings.clear();
  {
    netqos::RecordSink sink(stream, requests);
    for (size_t m = 0; m < msgs.size(); m++) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(msgs[m].data());
      for (size_t i = 0; i < requests.size(); i++)
        if (netqos::dump_wants(requests[i], 0, nlh)) sink.message(i, nlh);
      if (m == msgs.size() / 2) sink.restart(0);
    }
    sink.finish();
  }
  std::swap(values, stream.values);
  strings.swap(stream.strings);
}

// Decodes the messages as one dump reply: stored back to back, each aligned (as RouteSocket::dump
// keeps them), each asked which interface it is about and decoded into a fresh object; then as
// a read's answers, into a record stream (decode_records).
inline void decode_reply(const std::vector<std::vector<uint8_t>>& msgs) {
  netqos::DumpReply reply;
  for (const auto& m : msgs) {
    reply.offsets.push_back(reply.data.size());
    reply.data.insert(reply.data.end(), m.begin(), m.end());
    reply.data.resize(NLMSG_ALIGN(reply.data.size()));
  }
  for (size_t offset : reply.offsets) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(reply.data.data() + offset);
    (void)netqos::message_ifindex(nlh);
    SinkWriter w;
    netqos::decode_object(nlh, w);
  }
  decode_records(msgs);
}

// Decodes the messages as notifications (what a watching handle's events() returns), into a
// SinkWriter and into a record stream as Handle::Events does.
inline void decode_events(const std::vector<std::vector<uint8_t>>& msgs) {
  netqos::RecordStream stream;
  stream.begin_segment(0);
  for (const auto& m : msgs) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
    SinkWriter w;
    netqos::decode_event(nlh, w);
    netqos::RecordWriter r(stream, false);
    if (!netqos::decode_event(nlh, r)) r.discard();
  }
  stream.end_segment();
}

}  // namespace netqos_fuzz
