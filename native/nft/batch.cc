// Operations into one nfnetlink batch, read requests, and replies and notifications decoded
// into the same shapes the operations take.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "nft/nft.h"

namespace netqos::nft {

namespace {

struct VerbName {
  const char* name;
  Verb verb;
};
const VerbName kVerbs[] = {{"add", Verb::Add},         {"create", Verb::Create}, {"insert", Verb::Insert},
                           {"replace", Verb::Replace}, {"delete", Verb::Delete}, {"destroy", Verb::Destroy},
                           {"flush", Verb::Flush}};

Verb read_verb(const FieldReader& op) {
  auto s = op.string("op");
  if (!s) op.fail("op", "is required (add, create, insert, replace, delete, destroy or flush)");
  for (const auto& v : kVerbs)
    if (*s == v.name) return v.verb;
  op.fail("op",
          quote(*s) + " is not an operation (allowed: add, create, insert, replace, delete, destroy, flush)");
}

// BATCH_BEGIN and BATCH_END: nfgenmsg with the subsystem in res_id (network order, as nft sends).
void control_message(NftBatch& b, uint16_t type) {
  Message m(b.batch, type, 0);
  auto* nfg = static_cast<nfgenmsg*>(m.put_extra_header(sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
  if (type == NFNL_MSG_BATCH_BEGIN && b.generation) put_be32(m, NFNL_BATCH_GENID, *b.generation);
  m.finish();
  b.op_of.push_back(-1);
}

}  // namespace

void start_batch(NftBatch& b) { control_message(b, NFNL_MSG_BATCH_BEGIN); }
void finish_batch(NftBatch& b) { control_message(b, NFNL_MSG_BATCH_END); }

void encode_operation(NftBatch& b, const FieldReader& op, int32_t index) {
  size_t size = b.batch.buf.size(), count = b.batch.starts.size();
  uint32_t next_set_id = b.next_set_id;
  try {
    Verb verb = read_verb(op);
    const ObjectKind* kind = nullptr;
    std::unique_ptr<FieldReader> object;
    for (const char* name : {"table", "chain", "rule", "set", "elements"}) {
      auto o = op.object(name);
      if (!o) continue;
      if (kind) op.fail(name, std::string("an operation names one object (it also has ") + kind->name + ")");
      kind = find_object_kind(name);
      object = std::move(o);
    }
    if (!kind) op.fail("table", "an operation needs one of " + object_kind_names());
    kind->encode(b, verb, *object);
    while (b.op_of.size() < b.batch.size()) b.op_of.push_back(index);
  } catch (...) {
    b.batch.buf.set_size(size);
    b.batch.starts.resize(count);
    b.op_of.resize(count);
    for (auto it = b.set_ids.begin(); it != b.set_ids.end();)
      it = it->second >= next_set_id ? b.set_ids.erase(it) : std::next(it);
    b.next_set_id = next_set_id;
    throw;
  }
}

bool DumpRequest::get() const {
  switch (kind) {
    case DumpKind::Table:
    case DumpKind::Chain:
    case DumpKind::Set:
      return !name.empty();
    case DumpKind::Rule:
      return handle.has_value();
    case DumpKind::Generation:
      return true;
    case DumpKind::Elements:
      return false;
  }
  return false;
}

DumpRequest read_dump_request(const FieldReader& r) {
  DumpRequest req;
  auto type = r.string("type");
  const char* const allowed = "table, chain, rule, set, elements, generation";
  if (!type) r.fail("type", std::string("is required (") + allowed + ")");
  struct Name {
    const char* name;
    DumpKind kind;
  };
  static const Name kKinds[] = {{"table", DumpKind::Table},       {"chain", DumpKind::Chain},
                                {"rule", DumpKind::Rule},         {"set", DumpKind::Set},
                                {"elements", DumpKind::Elements}, {"generation", DumpKind::Generation}};
  bool known = false;
  for (const auto& k : kKinds)
    if (*type == k.name) req.kind = k.kind, known = true;
  if (!known) r.fail("type", quote(*type) + " cannot be read (allowed: " + allowed + ")");
  if (req.kind == DumpKind::Generation) return req;
  if (r.has("family")) req.family = read_family(r);
  if (r.has("table")) req.table = read_name(r, "table");
  if (r.has("chain")) req.chain = read_name(r, "chain");
  if (r.has("name")) req.name = read_name(r, "name");
  if (r.has("handle")) req.handle = r.u64_in("handle", 1, ~0ULL, 0);
  bool one = !req.name.empty() || req.handle;
  if (one && !req.family) r.fail("family", "is required to read one object");
  if (req.kind == DumpKind::Table && one && req.name.empty()) r.fail("name", "is required to read one table");
  if ((req.kind == DumpKind::Chain || req.kind == DumpKind::Set) && one) {
    if (req.name.empty()) r.fail("name", "is required to read one object by name");
    if (req.table.empty()) r.fail("table", "is required to read one object by name");
  }
  if (req.kind == DumpKind::Rule && !req.chain.empty() && req.table.empty())
    r.fail("table", "is required to read the rules of one chain");
  if (req.kind == DumpKind::Rule && req.handle && req.chain.empty())
    r.fail("chain", "is required to read one rule by handle");
  if (req.kind == DumpKind::Elements) {
    if (!req.family) r.fail("family", "is required to read a set's elements");
    if (req.table.empty()) r.fail("table", "is required to read a set's elements");
    if (req.name.empty()) r.fail("name", "is required (the set) to read its elements");
    if (auto t = r.string("keyType")) req.hints.key_type = find_data_type(*t);
    if (auto t = r.string("dataType")) req.hints.data_type = find_data_type(*t);
  }
  return req;
}

void encode_dump(Batch& batch, const DumpRequest& req) {
  NftBatch b;  // begin_message's helpers work on an NftBatch; the message is moved into `batch`
  uint16_t flags = req.get() ? NLM_F_ACK : NLM_F_DUMP;
  switch (req.kind) {
    case DumpKind::Generation: {
      Message m = begin_message(b, NFT_MSG_GETGEN, NLM_F_ACK, AF_UNSPEC);
      m.finish();
      break;
    }
    case DumpKind::Table: {
      Message m = begin_message(b, NFT_MSG_GETTABLE, flags, req.family);
      if (!req.name.empty()) m.put_strz(NFTA_TABLE_NAME, req.name);
      m.finish();
      break;
    }
    case DumpKind::Chain: {
      Message m = begin_message(b, NFT_MSG_GETCHAIN, flags, req.family);
      if (req.get()) {
        m.put_strz(NFTA_CHAIN_TABLE, req.table);
        m.put_strz(NFTA_CHAIN_NAME, req.name);
      }
      m.finish();
      break;
    }
    case DumpKind::Rule: {
      Message m = begin_message(b, NFT_MSG_GETRULE, flags, req.family);
      if (!req.table.empty()) m.put_strz(NFTA_RULE_TABLE, req.table);
      if (!req.chain.empty()) m.put_strz(NFTA_RULE_CHAIN, req.chain);
      if (req.handle) put_be64(m, NFTA_RULE_HANDLE, *req.handle);
      m.finish();
      break;
    }
    case DumpKind::Set: {
      Message m = begin_message(b, NFT_MSG_GETSET, flags, req.family);
      if (!req.table.empty()) m.put_strz(NFTA_SET_TABLE, req.table);
      if (req.get()) m.put_strz(NFTA_SET_NAME, req.name);
      m.finish();
      break;
    }
    case DumpKind::Elements: {
      Message m = begin_message(b, NFT_MSG_GETSETELEM, flags, req.family);
      m.put_strz(NFTA_SET_ELEM_LIST_TABLE, req.table);
      m.put_strz(NFTA_SET_ELEM_LIST_SET, req.name);
      m.finish();
      break;
    }
  }
  // Copied into the caller's batch as one message.
  const nlmsghdr* nlh = b.batch.message(0);
  Message out(batch, nlh->nlmsg_type, 0);
  std::memcpy(out.header(), nlh, nlh->nlmsg_len);
  out.finish();
}

bool dump_wants(const nlmsghdr* nlh, const DumpRequest& req) {
  // Chain dumps list every table's chains: keep the asked table's.
  if (req.kind != DumpKind::Chain || req.table.empty()) return true;
  if (req.family && message_family(nlh) != req.family) return false;
  const nlattr* tb[NFTA_CHAIN_MAX + 1];
  parse_message(nlh, tb, NFTA_CHAIN_MAX);
  return attr_string(tb[NFTA_CHAIN_TABLE]) == req.table;
}

namespace {

void decode_generation(const nlmsghdr* nlh, FieldWriter& w) {
  const nlattr* tb[NFTA_GEN_MAX + 1];
  parse_message(nlh, tb, NFTA_GEN_MAX);
  w.set_string("type", "generation");
  w.set_u64("id", be32(tb[NFTA_GEN_ID]));
  if (tb[NFTA_GEN_PROC_PID]) w.set_u64("pid", be32(tb[NFTA_GEN_PROC_PID]));
  if (tb[NFTA_GEN_PROC_NAME]) w.set_string("process", attr_string(tb[NFTA_GEN_PROC_NAME]));
}

}  // namespace

bool decode_object(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints& hints) {
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) return false;
  int msg = nft_msg(nlh->nlmsg_type);
  if (msg < 0) return false;
  if (msg == NFT_MSG_NEWGEN) {
    decode_generation(nlh, w);
    return true;
  }
  const ObjectKind* kind = find_object_kind_by_msg(msg);
  if (!kind) return false;
  kind->decode(nlh, w, hints);
  return true;
}

bool decode_event(const nlmsghdr* nlh, FieldWriter& w) {
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) return false;
  int msg = nft_msg(nlh->nlmsg_type);
  if (msg == NFT_MSG_NEWGEN) {
    w.set_string("event", "generation");
    decode_generation(nlh, w);
    return true;
  }
  const ObjectKind* kind = find_object_kind_by_msg(msg);
  if (!kind) return false;
  w.set_string("event", msg == kind->del_msg ? "del" : "new");
  kind->decode(nlh, w, {});
  return true;
}

size_t decode_buffer(const uint8_t* data, size_t len, FieldWriter& w) {
  // Copied to aligned memory, and walked by hand: libmnl's mnl_nlmsg_ok takes an nlmsg_len of
  // 2^31 or more for a fitting one (it compares it as an int).
  std::vector<uint32_t> aligned(len / 4 + 1);
  if (len) std::memcpy(aligned.data(), data, len);
  const auto* base = reinterpret_cast<const uint8_t*>(aligned.data());
  size_t offset = 0, n = 0;
  while (len - offset >= sizeof(nlmsghdr)) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(base + offset);
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > len - offset) break;
    auto object = w.append("objects");
    nft::decode_object(nlh, *object);
    auto event = w.append("events");
    nft::decode_event(nlh, *event);
    n++;
    offset += std::min<size_t>(NLMSG_ALIGN(nlh->nlmsg_len), len - offset);
  }
  return n;
}

namespace {

// The operation fields of each message's top-level attributes (by attribute type).
struct AttrNames {
  int msg;
  const char* names[14];
};
const AttrNames kAttrNames[] = {
    {NFT_MSG_NEWTABLE, {"", "name", "flags", "", "handle", "", "comment"}},
    {NFT_MSG_NEWCHAIN,
     {"", "table", "handle", "name", "hook", "policy", "", "kind", "", "", "flags", "", "comment"}},
    {NFT_MSG_NEWRULE, {"", "table", "chain", "handle", "expressions", "", "position", "comment"}},
    {NFT_MSG_NEWSET,
     {"", "table", "name", "flags", "keyType", "keyLength", "dataType", "dataLength", "policy", "size", "id",
      "timeoutMs", "", "comment"}},
    {NFT_MSG_NEWSETELEM, {"", "table", "set", "items", "set id"}},
};
const char* const kHookNames[] = {"", "hook", "priority", "device", "devices"};

const char* attr_name(int msg, uint16_t type) {
  // DEL and DESTROY messages take the NEW message's attributes.
  const ObjectKind* kind = find_object_kind_by_msg(msg);
  if (!kind && msg >= kMsgDestroyTable && msg <= kMsgDestroySetElem) {
    static const int kDestroyed[] = {NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWSET,
                                     NFT_MSG_NEWSETELEM};
    msg = kDestroyed[msg - kMsgDestroyTable];
  } else if (kind) {
    msg = kind->new_msg;
  }
  for (const auto& a : kAttrNames)
    if (a.msg == msg && type < 14 && a.names[type] && *a.names[type]) return a.names[type];
  return nullptr;
}

// The attribute of a list (its payload bytes) that holds byte `target`, and its position.
const nlattr* containing(const void* list, size_t len, const uint8_t* target, size_t& index) {
  const nlattr* found = nullptr;
  size_t i = 0;
  for_each_attr(list, len, [&](const nlattr* a) {
    const auto* at = reinterpret_cast<const uint8_t*>(a);
    if (!found && target >= at && target < at + a->nla_len) found = a, index = i;
    i++;
  });
  return found;
}
const nlattr* containing(const nlattr* nest_attr, const uint8_t* target, size_t& index) {
  return containing(mnl_attr_get_payload(nest_attr), mnl_attr_get_payload_len(nest_attr), target, index);
}

// Pointing at a nest's header means the nest itself.
bool inside(const nlattr* a, const uint8_t* target) {
  return target >= static_cast<const uint8_t*>(mnl_attr_get_payload(a));
}

std::string leaf_value(const nlattr* a) {
  size_t len = mnl_attr_get_payload_len(a);
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
  if (len > 1 && p[len - 1] == 0 &&
      std::all_of(p, p + len - 1, [](uint8_t c) { return c >= 0x20 && c < 0x7f; }))
    return " " + quote(std::string(reinterpret_cast<const char*>(p)));
  if (len == 4) return " " + std::to_string(be32(a));
  return "";
}

}  // namespace

std::string describe_attribute(const nlmsghdr* request, uint32_t offset) {
  size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  if (offset < head || offset >= request->nlmsg_len) return "";
  const auto* target = reinterpret_cast<const uint8_t*>(request) + offset;
  size_t index = 0;
  const nlattr* a =
      containing(reinterpret_cast<const uint8_t*>(request) + head, request->nlmsg_len - head, target, index);
  if (!a) return "";
  const char* name = attr_name(nft_msg(request->nlmsg_type), mnl_attr_get_type(a));
  std::string field = name ? name : "";
  std::string out = name ? field : "attribute " + std::to_string(mnl_attr_get_type(a));
  const nlattr* child = inside(a, target) ? containing(a, target, index) : nullptr;
  if (!child) return out + leaf_value(a);
  if (field == "hook") {
    uint16_t t = mnl_attr_get_type(child);
    return (t < 5 ? std::string(kHookNames[t]) : "hook attribute " + std::to_string(t)) + leaf_value(child);
  }
  if (field != "expressions" && field != "items")
    return out + " attribute " + std::to_string(mnl_attr_get_type(child)) + leaf_value(child);
  out += "[" + std::to_string(index) + "]";
  if (field == "items") return out;
  const nlattr* tb[NFTA_EXPR_MAX + 1];
  parse_nested(child, tb, NFTA_EXPR_MAX);
  out += " (" + attr_string(tb[NFTA_EXPR_NAME]) + ")";
  const nlattr* data = tb[NFTA_EXPR_DATA];
  if (!data || !inside(child, target) || !inside(data, target)) return out;
  const nlattr* leaf = containing(data, target, index);
  return leaf ? out + " attribute " + std::to_string(mnl_attr_get_type(leaf)) + leaf_value(leaf) : out;
}

}  // namespace netqos::nft
