// nf_tables over nfnetlink: the shared pieces every object and expression file uses, and the two
// tables that register them (registry.cc), as native/registry.h does for tc. Encoders of our own
// (libnftnl is GPL); the attribute layouts are the kernel's uapi (linux/netfilter/nf_tables.h).
//
// An nftables apply is one nfnetlink batch: NFNL_MSG_BATCH_BEGIN, one or more messages per
// operation, NFNL_MSG_BATCH_END, which the kernel commits whole or not at all.
#pragma once

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "fields.h"
#include "message.h"
#include "operation.h"

namespace netqos::nft {

// Message types newer than the 6.1 uapi headers this builds against (kernel 6.3+).
constexpr uint16_t kMsgDestroyTable = 26, kMsgDestroyChain = 27, kMsgDestroyRule = 28, kMsgDestroySet = 29,
                   kMsgDestroySetElem = 30;

// nlmsg_type of an nf_tables message.
constexpr uint16_t msg_type(uint16_t nft_msg) {
  return static_cast<uint16_t>(NFNL_SUBSYS_NFTABLES << 8 | nft_msg);
}
// The nf_tables message number of an nlmsg_type, or -1 for another subsystem's.
int nft_msg(uint16_t nlmsg_type);

enum class Verb { Add, Create, Insert, Replace, Delete, Destroy, Flush };
const char* verb_name(Verb v);

// Families: ip, ip6, inet, arp, bridge, netdev.
uint8_t read_family(const FieldReader& r);
std::string family_name(uint8_t family);

// Names as the kernel takes them (NFT_NAME_MAXLEN, NUL included).
std::string read_name(const FieldReader& r, const char* field);

// The batch being built: messages in tc's Batch buffer (sent in one sendmsg), the operation each
// message belongs to, and the transaction ids of sets the batch itself creates (an element list
// or a lookup naming such a set carries its id too, as nft does).
struct NftBatch {
  Batch batch;
  std::vector<int32_t> op_of;  // per message; -1 for BATCH_BEGIN / BATCH_END
  std::map<std::string, uint32_t> set_ids;
  uint32_t next_set_id = 1;
  int32_t current_op = 0;
  // Encoded expression lists by the identity of the list they came from (see
  // FieldReader::identity), family and table: a list many rules share is read and encoded once.
  std::map<std::tuple<uint64_t, uint16_t, uint8_t, std::string>, std::string> expressions;
  bool echo = false;                   // NLM_F_ECHO on what makes objects: the kernel returns them (handles)
  std::optional<uint32_t> generation;  // BATCH_BEGIN's NFNL_BATCH_GENID
  size_t size() const { return batch.size(); }
};

// A message of this batch: nlmsghdr + nfgenmsg (family, version 0, res_id 0), as nft writes it.
Message begin_message(NftBatch& b, uint16_t nft_msg, uint16_t flags, uint8_t family);

// Attributes in network byte order, as every nf_tables integer is.
void put_be32(Message& m, uint16_t type, uint32_t v);
void put_be64(Message& m, uint16_t type, uint64_t v);
nlattr* nest(Message& m, uint16_t type);  // with NLA_F_NESTED, as libmnl sets it
uint32_t be32(const nlattr* a);
uint64_t be64(const nlattr* a);
std::string attr_string(const nlattr* a);

// Comments travel in userdata as nft writes them: TLV {type u8, len u8, value}, the comment a
// NUL-terminated string of type 0 for tables, chains and rules (7 for sets).
void append_comment(std::vector<uint8_t>& udata, uint8_t udata_type, const FieldReader& r);
void put_comment(Message& m, uint16_t attr, uint8_t udata_type, const FieldReader& r);
std::optional<std::string> udata_comment(const nlattr* userdata, uint8_t udata_type);

// Registers: 0 (verdict), 1..4 (128-bit), 8..23 (32-bit).
uint32_t read_register(const FieldReader& r, const char* field, bool allow_verdict);
void put_register(Message& m, uint16_t type, const FieldReader& r, const char* field, uint32_t fallback,
                  bool allow_verdict = false);

// Data values (cmp, bitwise, immediate) written as { hex }, { ifname }, { string, length? },
// { ipv4 }, { ipv6 }, { u8 | u16 | u32 | u64 } (host order) or { be16 | be32 | be64 }.
std::vector<uint8_t> read_data(const FieldReader& r, const char* field);
// A verdict: { verdict: 'accept' | 'drop' | 'continue' | 'return' | 'jump' | 'goto', chain? }.
void put_verdict(Message& m, uint16_t type, const FieldReader& v);
// NFTA_DATA nests: value bytes, or a verdict.
void put_data_value(Message& m, uint16_t type, const std::vector<uint8_t>& bytes);
void decode_data(const nlattr* data, FieldWriter& w, const char* field);
// Writes verdict fields ("verdict", "chain") from an NFTA_DATA_VERDICT nest.
void decode_verdict(const nlattr* verdict, FieldWriter& w);

// Set key and data types, nft's datatype numbers and lengths.
struct DataType {
  const char* name;
  uint32_t id;
  uint32_t length;     // bytes; 0 for verdicts
  uint32_t byteorder;  // as nft records it in set userdata: 1 host, 2 big endian
};
const DataType* find_data_type(const std::string& name);
const DataType* find_data_type(uint32_t id);
constexpr uint32_t kVerdictType = 0xffffff00;  // NFT_DATA_VERDICT
// A scalar of a set's key or data type (a string, number, or for "bytes" hex digits).
std::vector<uint8_t> read_typed(const FieldReader& r, const char* field, const DataType& type,
                                uint32_t length);
void write_typed(FieldWriter& w, const char* field, const DataType* type, const uint8_t* data, size_t len);

// Context of the expressions of one rule.
struct ExprContext {
  NftBatch* batch = nullptr;  // null when only encoding for comparison
  uint8_t family = 0;
  std::string table;
};

struct ExprKind {
  const char* name;  // the kernel's expression name
  // Writes the contents of NFTA_EXPR_DATA.
  void (*encode)(Message& m, const FieldReader& r, const ExprContext& ctx);
  // Decodes NFTA_EXPR_DATA (may be null) into the expression's fields.
  void (*decode)(const nlattr* data, FieldWriter& w);
  // Whether encode reads the batch (ctx.batch): then its encoding is not reused.
  bool uses_batch = false;
};

// The objects: one kind per operation field ("table", "chain", "rule", "set", "elements").
struct DecodeHints {
  const DataType* key_type = nullptr;  // element keys and data shown typed instead of as hex
  const DataType* data_type = nullptr;
};
struct ObjectKind {
  const char* name;  // the operation's field and the decoded object's "type"
  uint16_t new_msg, del_msg;
  // Appends the messages of one operation on this object.
  void (*encode)(NftBatch& b, Verb verb, const FieldReader& r);
  // Decodes a NEW (or DEL) message of this kind.
  void (*decode)(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints& hints);
};

const ExprKind* find_expr_kind(const std::string& name);
std::string expr_kind_names();
const ObjectKind* find_object_kind(const std::string& name);
const ObjectKind* find_object_kind_by_msg(int nft_msg);  // NEW or DEL message number
std::string object_kind_names();

// The attributes after a message's nfgenmsg.
void parse_message(const nlmsghdr* nlh, const nlattr** tb, uint16_t max);
uint8_t message_family(const nlmsghdr* nlh);

// Rule expressions: NFTA_RULE_EXPRESSIONS from r's "expressions" array, and back.
void encode_expressions(Message& m, uint16_t type, const FieldReader& r, const ExprContext& ctx);
void decode_expressions(const nlattr* list, FieldWriter& w);

// Batches: BATCH_BEGIN, each operation's messages, BATCH_END.
void start_batch(NftBatch& b);
// Reads one operation ({op: 'add', rule: {...}}) and appends its messages; throws
// InvalidArgument naming the field, leaving the batch as it was.
void encode_operation(NftBatch& b, const FieldReader& op, int32_t index);
void finish_batch(NftBatch& b);

// Reads: what to dump or get, encoded as one request.
enum class DumpKind { Table, Chain, Rule, Set, Elements, Generation };
struct DumpRequest {
  explicit DumpRequest(DumpKind k = DumpKind::Generation) : kind(k) {}
  DumpKind kind;
  uint8_t family = 0;  // NFPROTO_UNSPEC: every family
  std::string table, chain, name;
  std::optional<uint64_t> handle;
  DecodeHints hints;
  // A get of one object (a name or handle given): acknowledged, and ENOENT reads as nothing.
  bool get() const;
};
DumpRequest read_dump_request(const FieldReader& r);
void encode_dump(Batch& batch, const DumpRequest& req);
// Whether a reply message is one the request asked for (chain dumps cover every table).
bool dump_wants(const nlmsghdr* nlh, const DumpRequest& req);

// Names the attribute of one of our requests at `offset` (the kernel's NLMSGERR_ATTR_OFFS) by
// the operation's field: `chain "nope"`, `expressions[1] (lookup) attribute 1 "pods"`.
std::string describe_attribute(const nlmsghdr* request, uint32_t offset);

// Decodes one message of a dump reply (or one echoed by an apply). False for messages to skip.
bool decode_object(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints& hints = {});
// Decodes one notification: "event" ("new", "del", or "generation" with its id, pid and
// process name) and the object as decode_object writes it.
bool decode_event(const nlmsghdr* nlh, FieldWriter& w);
// Every message in a buffer, decoded as an object and as an event (a fuzzing entry point:
// arbitrary bytes must never crash it). Returns the number of messages walked.
size_t decode_buffer(const uint8_t* data, size_t len, FieldWriter& w);

}  // namespace netqos::nft
