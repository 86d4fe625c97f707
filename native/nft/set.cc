// set: { family, table, name, keyType, dataType? (a map: 'verdict' or a value type), flags?,
// timeoutMs?, size?, policy?: 'performance' | 'memory', comment?, handle? (delete) }.
// "flush" removes its elements. A set made in a batch gets a transaction id there, which later
// operations of the same batch name it by too (as nft does).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

// nft's set userdata TLVs (libnftnl's NFTNL_UDATA_SET_*; a data format, not code).
constexpr uint8_t kUdataKeyByteorder = 0, kUdataDataByteorder = 1, kUdataDataInterval = 6, kUdataComment = 7;

struct Flag {
  const char* name;
  uint32_t value;
};
const Flag kFlags[] = {{"constant", NFT_SET_CONSTANT}, {"interval", NFT_SET_INTERVAL},
                       {"map", NFT_SET_MAP},           {"timeout", NFT_SET_TIMEOUT},
                       {"dynamic", NFT_SET_EVAL},      {"object", NFT_SET_OBJECT},
                       {"concat", NFT_SET_CONCAT},     {"anonymous", NFT_SET_ANONYMOUS}};

const char* const kTypeNames =
    "ipv4_addr, ipv6_addr, ether_addr, inet_proto, inet_service, mark, iface_index, ifname";

const DataType& read_type(const FieldReader& r, const char* field, bool allow_verdict) {
  auto name = r.string(field);
  if (!name) r.fail(field, std::string("is required (") + kTypeNames + ")");
  const DataType* t = find_data_type(*name);
  if (!t || (t->id == kVerdictType && !allow_verdict))
    r.fail(field, quote(*name) + " is not a type netqos knows (allowed: " + kTypeNames +
                      (allow_verdict ? ", verdict" : "") + ")");
  return *t;
}

void put_udata_u32(std::vector<uint8_t>& out, uint8_t type, uint32_t v) {
  out.push_back(type);
  out.push_back(4);
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}

void encode(NftBatch& b, Verb verb, const FieldReader& r) {
  uint8_t family = read_family(r);
  if (verb == Verb::Insert || verb == Verb::Replace)
    r.fail(std::string("sets support add, create, delete, destroy and flush, not ") + verb_name(verb));
  std::string table = read_name(r, "table");
  bool by_handle = (verb == Verb::Delete || verb == Verb::Destroy) && r.has("handle") && !r.has("name");
  std::string name = by_handle ? "" : read_name(r, "name");
  if (verb == Verb::Flush) {
    Message m = begin_message(b, NFT_MSG_DELSETELEM, 0, family);
    m.put_strz(NFTA_SET_ELEM_LIST_TABLE, table);
    m.put_strz(NFTA_SET_ELEM_LIST_SET, name);
    m.finish();
    return;
  }
  if (verb == Verb::Delete || verb == Verb::Destroy) {
    Message m = begin_message(
        b, verb == Verb::Delete ? static_cast<uint16_t>(NFT_MSG_DELSET) : kMsgDestroySet, 0, family);
    m.put_strz(NFTA_SET_TABLE, table);
    if (by_handle)
      put_be64(m, NFTA_SET_HANDLE, r.u64_in("handle", 1, ~0ULL, 0));
    else
      m.put_strz(NFTA_SET_NAME, name);
    m.finish();
    return;
  }
  const DataType& key = read_type(r, "keyType", false);
  const DataType* data = r.has("dataType") ? &read_type(r, "dataType", true) : nullptr;
  uint32_t flags = data ? NFT_SET_MAP : 0;
  for (const auto& f : r.strings("flags").value_or(std::vector<std::string>{})) {
    bool known = false;
    for (const auto& k : kFlags)
      if (f == k.name) flags |= k.value, known = true;
    if (!known)
      r.fail("flags", quote(f) +
                          " is not a set flag (allowed: constant, interval, map, timeout, dynamic, object, "
                          "concat)");
  }
  if ((flags & NFT_SET_MAP) && !data) r.fail("dataType", "is required for a map");
  auto timeout = r.u64("timeoutMs");
  if (timeout) flags |= NFT_SET_TIMEOUT;
  Message m =
      begin_message(b, NFT_MSG_NEWSET, NLM_F_CREATE | (verb == Verb::Create ? NLM_F_EXCL : 0), family);
  m.put_strz(NFTA_SET_TABLE, table);
  m.put_strz(NFTA_SET_NAME, name);
  put_be32(m, NFTA_SET_FLAGS, flags);
  put_be32(m, NFTA_SET_KEY_TYPE, key.id);
  put_be32(m, NFTA_SET_KEY_LEN, key.length);
  if (data) {
    put_be32(m, NFTA_SET_DATA_TYPE, data->id);
    put_be32(m, NFTA_SET_DATA_LEN, data->length);
  }
  if (auto policy = r.string("policy")) {
    if (*policy != "performance" && *policy != "memory")
      r.fail("policy", quote(*policy) + " is not a set policy (allowed: performance, memory)");
    put_be32(m, NFTA_SET_POLICY, *policy == "performance" ? NFT_SET_POL_PERFORMANCE : NFT_SET_POL_MEMORY);
  }
  if (r.has("size")) {
    nlattr* desc = nest(m, NFTA_SET_DESC);
    put_be32(m, NFTA_SET_DESC_SIZE, static_cast<uint32_t>(r.u64_in("size", 1, 0xFFFFFFFFu, 0)));
    m.nest_end(desc);
  }
  uint32_t id = b.next_set_id++;
  b.set_ids[family_name(family) + " " + table + " " + name] = id;
  put_be32(m, NFTA_SET_ID, id);
  if (timeout) put_be64(m, NFTA_SET_TIMEOUT, *timeout);
  std::vector<uint8_t> udata;
  put_udata_u32(udata, kUdataKeyByteorder, key.byteorder);
  if (data) {
    put_udata_u32(udata, kUdataDataByteorder, data->byteorder);
    put_udata_u32(udata, kUdataDataInterval, 0);
  }
  append_comment(udata, kUdataComment, r);
  m.put(NFTA_SET_USERDATA, udata.data(), udata.size());
  m.finish();
}

void decode(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints&) {
  const nlattr* tb[NFTA_SET_MAX + 1];
  parse_message(nlh, tb, NFTA_SET_MAX);
  w.set_string("type", "set");
  w.set_string("family", family_name(message_family(nlh)));
  w.set_string("table", attr_string(tb[NFTA_SET_TABLE]));
  w.set_string("name", attr_string(tb[NFTA_SET_NAME]));
  if (tb[NFTA_SET_HANDLE]) w.set_u64("handle", be64(tb[NFTA_SET_HANDLE]));
  auto type_name = [](uint32_t id) {
    const DataType* t = find_data_type(id);
    return t ? std::string(t->name) : std::to_string(id);
  };
  w.set_string("keyType", type_name(be32(tb[NFTA_SET_KEY_TYPE])));
  w.set_u64("keyLength", be32(tb[NFTA_SET_KEY_LEN]));
  if (tb[NFTA_SET_DATA_TYPE]) {
    w.set_string("dataType", type_name(be32(tb[NFTA_SET_DATA_TYPE])));
    w.set_u64("dataLength", be32(tb[NFTA_SET_DATA_LEN]));
  }
  std::vector<std::string> flags;
  uint32_t value = be32(tb[NFTA_SET_FLAGS]);
  for (const auto& f : kFlags)
    if (value & f.value) flags.push_back(f.name);
  w.set_strings("flags", flags);
  if (tb[NFTA_SET_POLICY])
    w.set_string("policy", be32(tb[NFTA_SET_POLICY]) == NFT_SET_POL_MEMORY ? "memory" : "performance");
  if (tb[NFTA_SET_DESC]) {
    const nlattr* desc[NFTA_SET_DESC_MAX + 1];
    parse_nested(tb[NFTA_SET_DESC], desc, NFTA_SET_DESC_MAX);
    if (desc[NFTA_SET_DESC_SIZE]) w.set_u64("size", be32(desc[NFTA_SET_DESC_SIZE]));
  }
  if (tb[NFTA_SET_TIMEOUT]) w.set_u64("timeoutMs", be64(tb[NFTA_SET_TIMEOUT]));
  if (auto c = udata_comment(tb[NFTA_SET_USERDATA], kUdataComment)) w.set_string("comment", *c);
}

}  // namespace

extern const ObjectKind set_object = {"set", NFT_MSG_NEWSET, NFT_MSG_DELSET, encode, decode};

}  // namespace netqos::nft
