// elements: { family, table, set, keyType, dataType?, items: [{ key, data? | verdict + chain?,
// timeoutMs?, comment? }] }: keys (and map data) typed by the set's types, as nft prints them.
// One operation may take several messages (each stays well under the 64 KiB a message holds).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

constexpr uint8_t kCommentUdata = 0;  // NFTNL_UDATA_SET_ELEM_COMMENT
constexpr size_t kSplitAt = 48 * 1024;

struct Header {
  uint16_t msg, flags;
  uint8_t family;
  std::string table, set;
  std::optional<uint32_t> set_id;
};

Message start(NftBatch& b, const Header& h) {
  Message m = begin_message(b, h.msg, h.flags, h.family);
  m.put_strz(NFTA_SET_ELEM_LIST_TABLE, h.table);
  m.put_strz(NFTA_SET_ELEM_LIST_SET, h.set);
  if (h.set_id) put_be32(m, NFTA_SET_ELEM_LIST_SET_ID, *h.set_id);
  return m;
}

// `number`: nft numbers the elements of a list 1, 2, 3... (the kernel takes any attribute type).
void encode_item(Message& m, uint16_t number, const FieldReader& item, const DataType& key,
                 const DataType* data, bool adding) {
  nlattr* elem = nest(m, number);
  put_data_value(m, NFTA_SET_ELEM_KEY, read_typed(item, "key", key, key.length));
  if (data && adding) {
    if (data->id == kVerdictType)
      put_verdict(m, NFTA_SET_ELEM_DATA, item);
    else
      put_data_value(m, NFTA_SET_ELEM_DATA, read_typed(item, "data", *data, data->length));
  } else {
    for (const char* field : {"data", "verdict"})
      if (item.has(field))
        item.fail(field,
                  data ? "is not needed to delete an element" : "is only for maps (give the dataType)");
  }
  if (adding && item.has("timeoutMs"))
    put_be64(m, NFTA_SET_ELEM_TIMEOUT, item.u64_in("timeoutMs", 1, ~0ULL, 0));
  if (adding) put_comment(m, NFTA_SET_ELEM_USERDATA, kCommentUdata, item);
  m.nest_end(elem);
}

void encode(NftBatch& b, Verb verb, const FieldReader& r) {
  uint8_t family = read_family(r);
  bool adding = verb == Verb::Add || verb == Verb::Create;
  if (!adding && verb != Verb::Delete && verb != Verb::Destroy)
    r.fail(std::string("elements support add, create, delete and destroy, not ") + verb_name(verb) +
           (verb == Verb::Flush ? " (flush the set)" : ""));
  Header h{adding                 ? static_cast<uint16_t>(NFT_MSG_NEWSETELEM)
           : verb == Verb::Delete ? static_cast<uint16_t>(NFT_MSG_DELSETELEM)
                                  : kMsgDestroySetElem,
           static_cast<uint16_t>(adding ? NLM_F_CREATE | (verb == Verb::Create ? NLM_F_EXCL : 0) : 0),
           family,
           read_name(r, "table"),
           read_name(r, "set"),
           std::nullopt};
  auto key_name = r.string("keyType");
  if (!key_name) r.fail("keyType", "is required (the set's key type, e.g. ifname)");
  const DataType* key = find_data_type(*key_name);
  if (!key || key->id == kVerdictType)
    r.fail("keyType", quote(*key_name) + " is not a key type netqos knows");
  const DataType* data = nullptr;
  if (auto data_name = r.string("dataType")) {
    data = find_data_type(*data_name);
    if (!data) r.fail("dataType", quote(*data_name) + " is not a data type netqos knows");
  }
  size_t n = r.array_length("items");
  if (n == 0) r.fail("items", "must list at least one element (to empty a set, flush it)");
  auto made = b.set_ids.find(family_name(family) + " " + h.table + " " + h.set);
  if (made != b.set_ids.end()) h.set_id = made->second;
  size_t i = 0;
  do {
    Message m = start(b, h);
    nlattr* list = nest(m, NFTA_SET_ELEM_LIST_ELEMENTS);
    for (uint16_t number = 1; i < n && m.header()->nlmsg_len <= kSplitAt; i++, number++)
      encode_item(m, number, *r.element("items", i), *key, data, adding);
    m.nest_end(list);
    m.finish();
  } while (i < n);
}

void decode(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints& hints) {
  const nlattr* tb[NFTA_SET_ELEM_LIST_MAX + 1];
  parse_message(nlh, tb, NFTA_SET_ELEM_LIST_MAX);
  w.set_string("type", "elements");
  w.set_string("family", family_name(message_family(nlh)));
  w.set_string("table", attr_string(tb[NFTA_SET_ELEM_LIST_TABLE]));
  w.set_string("set", attr_string(tb[NFTA_SET_ELEM_LIST_SET]));
  w.set_strings("items", {});
  if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS]) return;
  for_each_nested(tb[NFTA_SET_ELEM_LIST_ELEMENTS], [&](const nlattr* elem) {
    const nlattr* e[NFTA_SET_ELEM_MAX + 1];
    parse_nested(elem, e, NFTA_SET_ELEM_MAX);
    auto item = w.append("items");
    auto value = [&](const nlattr* nest_attr, const char* field, const DataType* type) {
      const nlattr* d[NFTA_DATA_MAX + 1];
      parse_nested(nest_attr, d, NFTA_DATA_MAX);
      if (d[NFTA_DATA_VERDICT]) {
        decode_verdict(d[NFTA_DATA_VERDICT], *item);
      } else if (d[NFTA_DATA_VALUE]) {
        write_typed(*item, field, type, static_cast<const uint8_t*>(mnl_attr_get_payload(d[NFTA_DATA_VALUE])),
                    mnl_attr_get_payload_len(d[NFTA_DATA_VALUE]));
      }
    };
    if (e[NFTA_SET_ELEM_KEY]) value(e[NFTA_SET_ELEM_KEY], "key", hints.key_type);
    if (e[NFTA_SET_ELEM_DATA]) value(e[NFTA_SET_ELEM_DATA], "data", hints.data_type);
    if (e[NFTA_SET_ELEM_FLAGS]) item->set_u64("flags", be32(e[NFTA_SET_ELEM_FLAGS]));
    if (e[NFTA_SET_ELEM_TIMEOUT]) item->set_u64("timeoutMs", be64(e[NFTA_SET_ELEM_TIMEOUT]));
    if (e[NFTA_SET_ELEM_EXPIRATION]) item->set_u64("expiresMs", be64(e[NFTA_SET_ELEM_EXPIRATION]));
    if (auto c = udata_comment(e[NFTA_SET_ELEM_USERDATA], kCommentUdata)) item->set_string("comment", *c);
  });
}

}  // namespace

extern const ObjectKind elements_object = {"elements", NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, encode,
                                           decode};

}  // namespace netqos::nft
