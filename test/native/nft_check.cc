// Native check of the nf_tables engine without Node, meant for ASan/UBSan (test/native/run-asan.sh):
// every object kind and expression encoded through PlainReader and decoded back; argument errors
// that leave the batch as it was; batches against the kernel in a throwaway namespace (refusals
// with the kernel's extack, its policy text, a stale generation, echoes, 20,000 elements);
// notifications; and the decoders fed mangled and random messages.
//
//   nft_check <netns>      the namespace must exist (it gets nf_tables objects, then loses them)
#include <arpa/inet.h>  // before the uapi headers, which then leave glibc's definitions alone
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "check.h"
#include "monitor.h"
#include "nft/nft.h"
#include "nft/nft_socket.h"
#include "plain_fields.h"

using namespace netqos::check;
using namespace netqos::nft;
using netqos::DumpReply;
using netqos::InvalidArgument;
using netqos::kMaxMessage;
using netqos::Message;
using netqos::Monitor;
using netqos::MonitorLog;
using netqos::MonitorSpec;
using netqos::OpResult;
using netqos::PlainReader;
using netqos::PlainWriter;
using netqos::SystemError;
using netqos::to_json;
using netqos::Value;

namespace {

Value op(const char* verb, const char* what, Value body) {
  return Value::object({{"op", verb}, {what, std::move(body)}});
}

Value expr(const char* kind, Value::Object fields) {
  fields["kind"] = kind;
  return Value(std::move(fields));
}

Value rule(const char* family, const char* chain, Value::Array expressions) {
  return Value::object({{"family", family},
                        {"table", "nqc"},
                        {"chain", chain},
                        {"expressions", Value(std::move(expressions))}});
}

void encode_into(NftBatch& b, const std::vector<Value>& ops) {
  start_batch(b);
  for (size_t i = 0; i < ops.size(); i++)
    netqos::nft::encode_operation(b, PlainReader(ops[i], cat("ops[", i, "]")), static_cast<int32_t>(i));
  finish_batch(b);
}

Value decoded(const nlmsghdr* nlh, const DecodeHints& hints = {}) {
  Value v = Value::object();
  PlainWriter w(v);
  netqos::nft::decode_object(nlh, w, hints);
  return v;
}

std::string str(const Value& v, const char* path) {
  const Value* f = v.find(path);
  return f && f->is_string() ? f->as_string() : "<absent>";
}
uint64_t num(const Value& v, const char* path) {
  const Value* f = v.find(path);
  if (!f || !f->is_number()) return ~0ULL;
  try {
    return f->as_u64();
  } catch (const std::logic_error&) {
    return ~0ULL;
  }
}

// Everything the engine encodes: a netdev table with ingress and egress chains, an inet table
// with a forward chain, a regular chain, every expression, sets of every key type and a map.
std::vector<Value> everything() {
  Value::Array all_expressions = {
      expr("meta", {{"key", "iifname"}, {"dreg", 1}}),
      expr("cmp", {{"op", "eq"}, {"sreg", 1}, {"data", Value::object({{"ifname", "v0"}})}}),
      expr("meta", {{"key", "l4proto"}}),
      expr("cmp", {{"op", "neq"}, {"data", Value::object({{"u8", 17}})}}),
      expr("payload", {{"base", "transport"}, {"offset", 13}, {"len", 1}, {"dreg", 2}}),
      expr("bitwise", {{"sreg", 2},
                       {"dreg", 2},
                       {"len", 1},
                       {"op", "mask-xor"},
                       {"mask", Value::object({{"hex", "17"}})},
                       {"xor", Value::object({{"u8", 0}})}}),
      expr("bitwise", {{"op", "lshift"}, {"sreg", 8}, {"dreg", 9}, {"len", 4}, {"shift", 3}}),
      expr("ct", {{"key", "state"}, {"dreg", 1}}),
      expr("ct", {{"key", "l3protocol"}, {"direction", "reply"}, {"dreg", 10}}),
      expr("limit", {{"rate", 100}, {"burst", 5}, {"over", true}}),
      expr("limit", {{"rate", 2000000}, {"unit", "minute"}, {"type", "bytes"}, {"burst", 0}}),
      expr("connlimit", {{"count", 3}, {"over", true}}),
      expr("counter", {}),
      expr("immediate", {{"dreg", 1}, {"data", Value::object({{"u32", 0x10010}})}}),
      expr("meta", {{"key", "priority"}, {"sreg", 1}}),
      expr("payload", {{"base", "network"}, {"offset", 0}, {"len", 2}, {"dreg", 1}}),
      expr("payload", {{"base", "network"},
                       {"offset", 0},
                       {"len", 2},
                       {"sreg", 1},
                       {"csumType", "inet"},
                       {"csumOffset", 10}}),
      expr("payload", {{"base", "network"},
                       {"offset", 8},
                       {"len", 4},
                       {"sreg", 1},
                       {"csumType", "inet"},
                       {"csumOffset", 10},
                       {"csumFlags", Value::array({"l4pseudohdr"})}}),
      expr("lookup", {{"set", "addrs"}, {"sreg", 1}, {"invert", true}}),
      expr("meta", {{"key", "iifname"}, {"dreg", 1}}),
      expr("lookup", {{"set", "marks"}, {"sreg", 1}, {"dreg", 2}}),
      expr("reject", {{"type", "tcp-reset"}}),
      expr("reject", {{"type", "icmpx"}, {"code", 3}}),
      expr("immediate", {{"verdict", "jump"}, {"chain", "pod2"}}),
  };
  auto items = [](Value::Array a) { return Value(std::move(a)); };
  return {
      op("add", "table", Value::object({{"family", "netdev"}, {"name", "nqc"}, {"comment", "netqos"}})),
      op("add", "chain",
         Value::object({{"family", "netdev"},
                        {"table", "nqc"},
                        {"name", "in"},
                        {"hook", "ingress"},
                        {"device", "v0"},
                        {"priority", -250},
                        {"policy", "accept"}})),
      op("add", "chain",
         Value::object({{"family", "netdev"},
                        {"table", "nqc"},
                        {"name", "out"},
                        {"hook", "egress"},
                        {"devices", Value::array({"v0", "v1"})},
                        {"priority", -250}})),
      op("add", "table", Value::object({{"family", "inet"}, {"name", "nqc"}})),
      op("add", "chain",
         Value::object({{"family", "inet"}, {"table", "nqc"}, {"name", "pod1"}, {"comment", "pod"}})),
      op("add", "chain", Value::object({{"family", "inet"}, {"table", "nqc"}, {"name", "pod2"}})),
      op("add", "chain",
         Value::object(
             {{"family", "inet"}, {"table", "nqc"}, {"name", "fwd"}, {"hook", "forward"}, {"priority", 10}})),
      op("add", "set",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"name", "addrs"},
                        {"keyType", "ipv4_addr"},
                        {"size", 64},
                        {"policy", "memory"},
                        {"comment", "pods"}})),
      op("add", "set",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"name", "pods"},
                        {"keyType", "ifname"},
                        {"dataType", "verdict"}})),
      op("add", "set",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"name", "marks"},
                        {"keyType", "ifname"},
                        {"dataType", "mark"}})),
      op("add", "set",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"name", "macs"},
                        {"keyType", "ether_addr"},
                        {"timeoutMs", 60000}})),
      op("add", "set",
         Value::object(
             {{"family", "inet"}, {"table", "nqc"}, {"name", "ports"}, {"keyType", "inet_service"}})),
      op("add", "set",
         Value::object({{"family", "inet"}, {"table", "nqc"}, {"name", "v6"}, {"keyType", "ipv6_addr"}})),
      op("add", "set",
         Value::object(
             {{"family", "inet"}, {"table", "nqc"}, {"name", "protos"}, {"keyType", "inet_proto"}})),
      op("add", "elements",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"set", "addrs"},
                        {"keyType", "ipv4_addr"},
                        {"items", items({Value::object({{"key", "198.18.0.1"}, {"comment", "one"}})})}})),
      op("add", "elements",
         Value::object(
             {{"family", "inet"},
              {"table", "nqc"},
              {"set", "pods"},
              {"keyType", "ifname"},
              {"dataType", "verdict"},
              {"items", items({Value::object({{"key", "v0"}, {"verdict", "goto"}, {"chain", "pod1"}})})}})),
      op("add", "elements",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"set", "marks"},
                        {"keyType", "ifname"},
                        {"dataType", "mark"},
                        {"items", items({Value::object({{"key", "v0"}, {"data", 16}})})}})),
      op("add", "elements",
         Value::object(
             {{"family", "inet"},
              {"table", "nqc"},
              {"set", "macs"},
              {"keyType", "ether_addr"},
              {"items", items({Value::object({{"key", "02:00:00:00:00:01"}, {"timeoutMs", 30000}})})}})),
      op("add", "elements",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"set", "ports"},
                        {"keyType", "inet_service"},
                        {"items", items({Value::object({{"key", 8080}})})}})),
      op("add", "elements",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"set", "v6"},
                        {"keyType", "ipv6_addr"},
                        {"items", items({Value::object({{"key", "2001:2::1"}})})}})),
      op("add", "elements",
         Value::object({{"family", "inet"},
                        {"table", "nqc"},
                        {"set", "protos"},
                        {"keyType", "inet_proto"},
                        {"items", items({Value::object({{"key", 6}})})}})),
      op("add", "rule", rule("inet", "pod1", std::move(all_expressions))),
      op("add", "rule",
         rule("inet", "fwd",
              {expr("meta", {{"key", "iifname"}}),
               expr("lookup", {{"set", "pods"}, {"sreg", 1}, {"dreg", 0}})})),
  };
}

void check_encoding() {
  section("every object kind and expression encodes, and decodes back");
  NftBatch b;
  std::vector<Value> ops = everything();
  encode_into(b, ops);
  REQUIRE(b.size() == ops.size() + 2, "one message per operation plus BEGIN and END: ", b.size());
  CHECK(b.batch.message(0)->nlmsg_type == NFNL_MSG_BATCH_BEGIN && b.op_of.front() == -1, "BATCH_BEGIN first");
  CHECK(b.batch.message(b.size() - 1)->nlmsg_type == NFNL_MSG_BATCH_END && b.op_of.back() == -1,
        "BATCH_END last");
  Value fwd_in = decoded(b.batch.message(2));
  CHECK(str(fwd_in, "type") == "chain" && str(fwd_in, "hook") == "ingress" && str(fwd_in, "device") == "v0" &&
            str(fwd_in, "policy") == "accept",
        "netdev ingress chain: ", to_json(fwd_in));
  const Value* prio = fwd_in.find("priority");
  CHECK(prio && prio->as_i64() == -250, "priority -250: ", to_json(fwd_in));
  Value out = decoded(b.batch.message(3));
  CHECK(out.find("devices") && out.find("devices")->size() == 2, "two devices: ", to_json(out));
  Value set = decoded(b.batch.message(8));
  CHECK(str(set, "keyType") == "ipv4_addr" && num(set, "size") == 64 && str(set, "policy") == "memory" &&
            str(set, "comment") == "pods",
        "set: ", to_json(set));
  Value map = decoded(b.batch.message(9));
  CHECK(str(map, "dataType") == "verdict" && str(map, "flags[0]") == "map", "verdict map: ", to_json(map));
  struct Element {
    size_t message;
    const char* type;
    const char* data_type;
    const char* expect;
  };
  for (const Element& e :
       {Element{15, "ipv4_addr", nullptr, "198.18.0.1"}, Element{16, "ifname", "verdict", "v0"},
        Element{17, "ifname", "mark", "v0"}, Element{18, "ether_addr", nullptr, "02:00:00:00:00:01"},
        Element{20, "ipv6_addr", nullptr, "2001:2::1"}}) {
    DecodeHints hints{find_data_type(e.type), e.data_type ? find_data_type(e.data_type) : nullptr};
    Value v = decoded(b.batch.message(e.message), hints);
    CHECK(str(v, "items[0].key") == e.expect, e.type, " element key: ", to_json(v));
  }
  Value ports = decoded(b.batch.message(19), {find_data_type("inet_service"), nullptr});
  CHECK(num(ports, "items[0].key") == 8080, "port key: ", to_json(ports));
  Value marks = decoded(b.batch.message(17), {find_data_type("ifname"), find_data_type("mark")});
  CHECK(num(marks, "items[0].data") == 16, "mark data: ", to_json(marks));
  Value pods = decoded(b.batch.message(16), {find_data_type("ifname"), find_data_type("verdict")});
  CHECK(str(pods, "items[0].verdict") == "goto" && str(pods, "items[0].chain") == "pod1",
        "verdict: ", to_json(pods));
  Value r = decoded(b.batch.message(22));
  const Value* exprs = r.find("expressions");
  REQUIRE(exprs && exprs->size() == 24, "24 expressions back: ", to_json(r));
  CHECK(str(r, "expressions[9].kind") == "limit" && num(r, "expressions[9].rate") == 100 &&
            str(r, "expressions[10].type") == "bytes" && str(r, "expressions[10].unit") == "minute",
        "limits: ", to_json(r));
  CHECK(str(r, "expressions[1].data.hex") == "76300000000000000000000000000000", "ifname data: ", to_json(r));
  CHECK(str(r, "expressions[17].csumFlags[0]") == "l4pseudohdr", "checksum flags: ", to_json(r));
  CHECK(str(r, "expressions[23].verdict") == "jump" && str(r, "expressions[23].chain") == "pod2",
        "jump: ", to_json(r));
  CHECK(num(r, "expressions[6].shift") == 3 && str(r, "expressions[6].op") == "lshift",
        "shift: ", to_json(r));
  CHECK(str(r, "expressions[8].direction") == "reply", "ct direction: ", to_json(r));
  // The sets made in this batch are named by transaction id too.
  Value fwd = decoded(b.batch.message(23));
  CHECK(str(fwd, "expressions[1].set") == "pods", "lookup: ", to_json(fwd));

  section("an element list too large for one message is split");
  Value::Array many;
  for (int i = 0; i < 3000; i++)
    many.push_back(Value::object({{"key", cat("p", i)}, {"verdict", "goto"}, {"chain", "pod1"}}));
  NftBatch big;
  encode_into(big, {op("add", "elements",
                       Value::object({{"family", "inet"},
                                      {"table", "nqc"},
                                      {"set", "pods"},
                                      {"keyType", "ifname"},
                                      {"dataType", "verdict"},
                                      {"items", Value(many)}}))});
  size_t items = 0;
  for (size_t i = 1; i + 1 < big.size(); i++) {
    CHECK(big.batch.message(i)->nlmsg_len <= kMaxMessage, "message ", i, " fits");
    CHECK(big.op_of[i] == 0, "message ", i, " belongs to operation 0");
    items += decoded(big.batch.message(i), {find_data_type("ifname"), find_data_type("verdict")})
                 .find("items")
                 ->size();
  }
  CHECK(big.size() > 3 && items == 3000, big.size() - 2, " messages with ", items, " elements");
}

void check_invalid() {
  section("argument errors name the field and leave the batch as it was");
  struct Case {
    Value op;
    const char* want;
  };
  std::vector<Case> cases = {
      {Value::object({{"op", "add"}}),
       "ops[0].table: an operation needs one of table, chain, rule, set, elements"},
      {op("fly", "table", Value::object()), "ops[0].op: \"fly\" is not an operation"},
      {op("add", "table", Value::object({{"family", "ipx"}, {"name", "t"}})), "ops[0].table.family: \"ipx\""},
      {op("add", "table", Value::object({{"family", "inet"}, {"name", std::string(300, 'x')}})),
       "ops[0].table.name"},
      {op("replace", "table", Value::object({{"family", "inet"}, {"name", "t"}})), "tables support add"},
      {op("add", "chain",
          Value::object(
              {{"family", "inet"}, {"table", "t"}, {"name", "c"}, {"hook", "egress"}, {"priority", 0}})),
       "ops[0].chain.hook: \"egress\" is not a hook of the inet family"},
      {op("add", "chain",
          Value::object(
              {{"family", "netdev"}, {"table", "t"}, {"name", "c"}, {"hook", "ingress"}, {"priority", 0}})),
       "ops[0].chain.device: is required"},
      {op("add", "chain",
          Value::object({{"family", "inet"}, {"table", "t"}, {"name", "c"}, {"policy", "drop"}})),
       "ops[0].chain.policy: is only for base chains"},
      {op("delete", "rule", rule("inet", "c", {})), "ops[0].rule.handle: is required to delete a rule"},
      {op("add", "rule", rule("inet", "c", {expr("nope", {})})), "ops[0].rule.expressions[0].kind: \"nope\""},
      {op("add", "rule", rule("inet", "c", {expr("limit", {{"rate", 10}, {"unit", "fortnight"}})})),
       "ops[0].rule.expressions[0].unit"},
      {op("add", "rule",
          rule("inet", "c", {expr("cmp", {{"data", Value::object({{"u8", 1}, {"u16", 2}})}})})),
       "ops[0].rule.expressions[0].data: must have exactly one of"},
      {op("add", "rule", rule("inet", "c", {expr("cmp", {{"data", Value::object({{"hex", "zz"}})}})})),
       "ops[0].rule.expressions[0].data.hex"},
      {op("add", "rule", rule("inet", "c", {expr("meta", {{"key", "iifname"}, {"dreg", 5}})})),
       "ops[0].rule.expressions[0].dreg: 5 is not a register"},
      {op("add", "rule",
          rule("inet", "c",
               {expr("bitwise", {{"len", 2},
                                 {"mask", Value::object({{"u8", 1}})},
                                 {"xor", Value::object({{"be16", 0}})}})})),
       "ops[0].rule.expressions[0].mask: 1 bytes, but len is 2"},
      {op("add", "rule", rule("inet", "c", {expr("immediate", {{"verdict", "jump"}})})),
       "ops[0].rule.expressions[0].chain: is required for jump and goto"},
      {op("add", "rule",
          rule("inet", "c",
               {expr("payload",
                     {{"base", "network"}, {"offset", 0}, {"len", 2}, {"sreg", 1}, {"csumOffset", 10}})})),
       "ops[0].rule.expressions[0].csumOffset: needs a csumType"},
      {op("add", "set",
          Value::object({{"family", "inet"}, {"table", "t"}, {"name", "s"}, {"keyType", "verdict"}})),
       "ops[0].set.keyType: \"verdict\" is not a type"},
      {op("add", "elements",
          Value::object({{"family", "inet"},
                         {"table", "t"},
                         {"set", "s"},
                         {"keyType", "ipv4_addr"},
                         {"items", Value::array({Value::object({{"key", "300.1.1.1"}})})}})),
       "ops[0].elements.items[0].key: \"300.1.1.1\" is not an IPv4 address"},
      {op("add", "elements",
          Value::object({{"family", "inet"},
                         {"table", "t"},
                         {"set", "s"},
                         {"keyType", "ifname"},
                         {"items", Value::array()}})),
       "ops[0].elements.items: must list at least one element"},
  };
  for (const Case& c : cases) {
    NftBatch b;
    start_batch(b);
    netqos::nft::encode_operation(
        b,
        PlainReader(
            op("add", "set",
               Value::object({{"family", "inet"}, {"table", "t"}, {"name", "made"}, {"keyType", "ifname"}})),
            "ops[x]"),
        0);
    size_t size = b.batch.buf.size(), messages = b.size(), ids = b.set_ids.size();
    try {
      netqos::nft::encode_operation(b, PlainReader(c.op, "ops[0]"), 1);
      CHECK(false, "expected InvalidArgument containing \"", c.want, "\"");
    } catch (const InvalidArgument& e) {
      CHECK(std::string(e.what()).find(c.want) != std::string::npos, "message \"", e.what(), "\" lacks \"",
            c.want, "\"");
    }
    CHECK(b.batch.buf.size() == size && b.size() == messages && b.op_of.size() == messages &&
              b.set_ids.size() == ids,
          "batch unchanged after \"", c.want, "\"");
  }
}

ApplyOutcome run_batch(NftSocket& sock, const std::vector<Value>& ops, bool echo = false,
                       std::optional<uint32_t> generation = std::nullopt) {
  NftBatch b;
  b.echo = echo;
  b.generation = generation;
  encode_into(b, ops);
  ApplyOutcome out;
  sock.execute(b, ops.size(), out);
  return out;
}

std::string failed(const ApplyOutcome& out) {
  std::string text =
      out.batch.error ? cat("batch: errno ", out.batch.error, " ", out.batch.message, "; ") : "";
  for (size_t i = 0; i < out.ops.size(); i++)
    if (out.ops[i].error)
      text += cat("ops[", i, "]: errno ", out.ops[i].error, " ", out.ops[i].message, "; ");
  return text;
}

size_t failures(const ApplyOutcome& out) {
  size_t n = out.batch.error != 0;
  for (const OpResult& r : out.ops) n += r.error != 0;
  return n;
}

std::vector<Value> read(NftSocket& sock, DumpRequest req) {
  std::vector<DumpReply> replies;
  sock.dump_all({req}, replies);
  std::vector<Value> out;
  for (size_t offset : replies[0].offsets) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(replies[0].data.data() + offset);
    if (dump_wants(nlh, req)) out.push_back(decoded(nlh, req.hints));
  }
  return out;
}

DumpRequest request(DumpKind kind, uint8_t family = 0, const char* table = "", const char* name = "") {
  DumpRequest r(kind);
  r.family = family;
  r.table = table;
  r.name = name;
  return r;
}

void check_kernel(NftSocket& sock, const std::string& netns) {
  section("a batch against the kernel: applied, read back, notified");
  Monitor monitor(netns, 0,
                  MonitorSpec{NETLINK_NETFILTER, 1u << (NFNLGRP_NFTABLES - 1),
                              [](uint16_t type) { return nft_msg(type) >= 0; }, "nf_tables notifications"});
  uint32_t before = sock.generation();
  ApplyOutcome out = run_batch(sock, everything(), true);
  REQUIRE(failures(out) == 0, "applied: ", failed(out));
  CHECK(out.generation == before + 1, "one generation: ", before, " -> ", out.generation);
  size_t echoed_rules = 0;
  for (size_t offset : out.echoed.offsets) {
    Value v = decoded(reinterpret_cast<const nlmsghdr*>(out.echoed.data.data() + offset));
    echoed_rules += str(v, "type") == "rule" && num(v, "handle") > 0;
  }
  CHECK(echoed_rules == 2, "the two rules echoed with handles: ", echoed_rules);
  auto tables = read(sock, request(DumpKind::Table));
  CHECK(tables.size() == 2, "two tables: ", tables.size());
  auto chains = read(sock, request(DumpKind::Chain, NFPROTO_INET, "nqc"));
  CHECK(chains.size() == 3, "three inet chains: ", chains.size());
  auto rules = read(sock, request(DumpKind::Rule, NFPROTO_INET, "nqc"));
  CHECK(rules.size() == 2 && rules[0].find("expressions")->size() == 24, "rules read back: ", rules.size());
  DumpRequest elements = request(DumpKind::Elements, NFPROTO_INET, "nqc", "pods");
  elements.hints = {find_data_type("ifname"), find_data_type("verdict")};
  auto pods = read(sock, elements);
  CHECK(!pods.empty() && str(pods[0], "items[0].key") == "v0",
        "map elements: ", pods.empty() ? "" : to_json(pods[0]));
  auto one = read(sock, request(DumpKind::Chain, NFPROTO_INET, "nqc", "missing"));
  CHECK(one.empty(), "a missing chain reads as nothing");
  MonitorLog log;
  monitor.take(log);
  size_t news = 0, generations = 0;
  for (size_t offset : log.offsets) {
    Value e = Value::object();
    PlainWriter w(e);
    if (!netqos::nft::decode_event(reinterpret_cast<const nlmsghdr*>(log.data.data() + offset), w)) continue;
    news += str(e, "event") == "new";
    generations += str(e, "event") == "generation";
  }
  CHECK(news >= everything().size() && generations == 1 && !log.overflow, news, " new objects, ", generations,
        " generation events");

  section("refusals: the operation, the kernel's extack, nothing applied");
  uint32_t now = sock.generation();
  ApplyOutcome refused = run_batch(
      sock,
      {op("add", "table", Value::object({{"family", "ip"}, {"name", "nqc2"}})),
       op("add", "chain", Value::object({{"family", "ip"}, {"table", "nqc2"}, {"name", "c"}})),
       op("add", "rule",
          Value::object({{"family", "ip"},
                         {"table", "nqc2"},
                         {"chain", "c"},
                         {"expressions",
                          Value::array({expr("immediate", {{"verdict", "goto"}, {"chain", "gone"}})})}}))});
  CHECK(refused.ops.size() == 3 && refused.ops[2].error == ENOENT &&
            refused.ops[2].message == "refused: expressions[0] (immediate)",
        "the goto to a missing chain: ", refused.ops.size() == 3 ? refused.ops[2].message : "");
  CHECK(refused.ops[0].error == 0 && refused.ops[1].error == 0, "the others are not blamed");
  CHECK(sock.generation() == now && read(sock, request(DumpKind::Table, NFPROTO_IPV4)).empty(),
        "nothing applied");
  ApplyOutcome stale = run_batch(
      sock, {op("add", "table", Value::object({{"family", "ip"}, {"name", "nqc3"}}))}, false, now - 1);
  CHECK(stale.batch.error == ERESTART, "a stale generation refuses the batch: ", stale.batch.error);

  // A message the engine would never build (table flags as one byte): the kernel's policy
  // check answers with text.
  NftBatch raw;
  start_batch(raw);
  {
    Message m = begin_message(raw, NFT_MSG_NEWTABLE, 0, NFPROTO_INET);
    m.put_strz(NFTA_TABLE_NAME, "nqc4");
    m.put_u8(NFTA_TABLE_FLAGS, 1);
    m.finish();
    raw.op_of.push_back(0);
  }
  finish_batch(raw);
  ApplyOutcome text;
  sock.execute(raw, 1, text);
  CHECK(text.ops[0].error == ERANGE && text.ops[0].message == "Attribute failed policy validation",
        "policy text: ", text.ops[0].error, " \"", text.ops[0].message, "\"");
}

void check_volume(NftSocket& sock) {
  section("20,000 map elements and 2,000 chains with a rule each, one batch");
  Value::Array items;
  std::vector<Value> ops = {op("add", "table", Value::object({{"family", "inet"}, {"name", "nqv"}})),
                            op("add", "set",
                               Value::object({{"family", "inet"},
                                              {"table", "nqv"},
                                              {"name", "m"},
                                              {"keyType", "ifname"},
                                              {"dataType", "verdict"}}))};
  for (int i = 0; i < 2000; i++) {
    ops.push_back(
        op("add", "chain", Value::object({{"family", "inet"}, {"table", "nqv"}, {"name", cat("c", i)}})));
    ops.push_back(
        op("add", "rule",
           Value::object({{"family", "inet"},
                          {"table", "nqv"},
                          {"chain", cat("c", i)},
                          {"expressions", Value::array({expr("limit", {{"rate", 100}, {"over", true}}),
                                                        expr("immediate", {{"verdict", "drop"}})})}})));
  }
  for (int i = 0; i < 20000; i++)
    items.push_back(
        Value::object({{"key", cat("cali", i)}, {"verdict", "goto"}, {"chain", cat("c", i % 2000)}}));
  ops.push_back(op("add", "elements",
                   Value::object({{"family", "inet"},
                                  {"table", "nqv"},
                                  {"set", "m"},
                                  {"keyType", "ifname"},
                                  {"dataType", "verdict"},
                                  {"items", Value(items)}})));
  ApplyOutcome out = run_batch(sock, ops);
  CHECK(failures(out) == 0 && !out.lost, "applied: ", failed(out));
  DumpRequest elements = request(DumpKind::Elements, NFPROTO_INET, "nqv", "m");
  size_t n = 0;
  for (const Value& v : read(sock, elements)) n += v.find("items")->size();
  CHECK(n == 20000, "20,000 elements read back: ", n);
  CHECK(read(sock, request(DumpKind::Rule, NFPROTO_INET, "nqv")).size() == 2000, "2,000 rules read back");
  CHECK(failures(run_batch(
            sock, {op("delete", "table", Value::object({{"family", "inet"}, {"name", "nqv"}}))})) == 0,
        "deleted");
}

// xorshift: the same sequence every run.
struct Random {
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

void check_decoders(NftSocket& sock) {
  section("decoders fed mangled and random messages");
  // Real messages: every request the engine builds, and the kernel's replies to a full read.
  std::vector<std::vector<uint8_t>> samples;
  NftBatch b;
  encode_into(b, everything());
  for (size_t i = 0; i < b.size(); i++) {
    const auto* p = reinterpret_cast<const uint8_t*>(b.batch.message(i));
    samples.emplace_back(p, p + b.batch.message(i)->nlmsg_len);
  }
  std::vector<DumpReply> replies;
  sock.dump_all(
      {request(DumpKind::Table), request(DumpKind::Chain), request(DumpKind::Rule), request(DumpKind::Set)},
      replies);
  for (const DumpReply& r : replies)
    for (size_t offset : r.offsets) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(r.data.data() + offset);
      const auto* p = reinterpret_cast<const uint8_t*>(nlh);
      samples.emplace_back(p, p + nlh->nlmsg_len);
    }
  Random rng;
  size_t walked = 0;
  for (int round = 0; round < 30000; round++) {
    std::vector<uint8_t> m = samples[rng.next() % samples.size()];
    switch (rng.next() % 4) {
      case 0:  // flip bytes
        for (int k = 0; k < 4; k++) m[rng.next() % m.size()] ^= static_cast<uint8_t>(rng.next());
        break;
      case 1:  // truncate, keeping nlmsg_len
        m.resize(rng.next() % m.size() + 1);
        break;
      case 2:  // an attribute length anywhere set to something else
        if (m.size() > 24) {
          size_t at = 20 + (rng.next() % (m.size() - 22)) / 2 * 2;
          uint16_t len = static_cast<uint16_t>(rng.next());
          std::memcpy(&m[at], &len, 2);
        }
        break;
      default:  // random bytes after a plausible header
        for (size_t k = 20; k < m.size(); k++) m[k] = static_cast<uint8_t>(rng.next());
    }
    Value root = Value::object();
    PlainWriter w(root);
    walked += decode_buffer(m.data(), m.size(), w);
  }
  CHECK(walked > 0, "30,000 mangled messages decoded without a fault (", walked, " walked)");
}

void cleanup(NftSocket& sock) {
  section("cleanup");
  ApplyOutcome out =
      run_batch(sock, {op("destroy", "table", Value::object({{"family", "netdev"}, {"name", "nqc"}})),
                       op("destroy", "table", Value::object({{"family", "inet"}, {"name", "nqc"}}))});
  CHECK(failures(out) == 0, "destroyed: ", failed(out));
  CHECK(read(sock, request(DumpKind::Table)).empty(), "no table left");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <netns>\n", argv[0]);
    return 2;
  }
  return run_checks([&] {
    check_encoding();
    check_invalid();
    NftSocket sock(argv[1]);
    try {
      check_kernel(sock, argv[1]);
      check_volume(sock);
      check_decoders(sock);
    } catch (...) {
      cleanup(sock);
      throw;
    }
    cleanup(sock);
  });
}
