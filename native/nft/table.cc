// table: { family, name, flags?: ['dormant' | 'owner' | 'persist'], comment?, handle? (delete) }.
// "flush" removes every rule of every chain in it (a DELRULE naming only the table, as nft's
// `flush table`).
#include "nft/nft.h"

namespace netqos::nft {

namespace {

constexpr uint8_t kCommentUdata = 0;         // NFTNL_UDATA_TABLE_COMMENT
constexpr uint32_t kTableFlagPersist = 0x4;  // NFT_TABLE_F_PERSIST (6.9+)

struct Flag {
  const char* name;
  uint32_t value;
};
const Flag kFlags[] = {
    {"dormant", NFT_TABLE_F_DORMANT}, {"owner", NFT_TABLE_F_OWNER}, {"persist", kTableFlagPersist}};

uint32_t read_flags(const FieldReader& r) {
  uint32_t flags = 0;
  for (const auto& name : r.strings("flags").value_or(std::vector<std::string>{})) {
    bool known = false;
    for (const auto& f : kFlags)
      if (name == f.name) flags |= f.value, known = true;
    if (!known) r.fail("flags", quote(name) + " is not a table flag (allowed: dormant, owner, persist)");
  }
  return flags;
}

void encode(NftBatch& b, Verb verb, const FieldReader& r) {
  uint8_t family = read_family(r);
  if (verb == Verb::Insert || verb == Verb::Replace)
    r.fail(std::string("tables support add, create, delete, destroy and flush, not ") + verb_name(verb));
  bool by_handle = (verb == Verb::Delete || verb == Verb::Destroy) && r.has("handle") && !r.has("name");
  std::string name = by_handle ? "" : read_name(r, "name");
  if (verb == Verb::Flush) {
    Message m = begin_message(b, NFT_MSG_DELRULE, 0, family);
    m.put_strz(NFTA_RULE_TABLE, name);
    m.finish();
    return;
  }
  uint16_t type = verb == Verb::Delete    ? static_cast<uint16_t>(NFT_MSG_DELTABLE)
                  : verb == Verb::Destroy ? kMsgDestroyTable
                                          : static_cast<uint16_t>(NFT_MSG_NEWTABLE);
  // nft's `add table` sends no NLM_F_CREATE (a table is created when missing anyway); `create`
  // adds NLM_F_EXCL.
  Message m = begin_message(b, type, verb == Verb::Create ? NLM_F_EXCL : 0, family);
  if (!by_handle) m.put_strz(NFTA_TABLE_NAME, name);
  if (type == NFT_MSG_NEWTABLE) {
    put_be32(m, NFTA_TABLE_FLAGS, read_flags(r));  // nft always sends them (0: none)
    put_comment(m, NFTA_TABLE_USERDATA, kCommentUdata, r);
  } else if (by_handle) {
    put_be64(m, NFTA_TABLE_HANDLE, r.u64_in("handle", 1, ~0ULL, 0));
  }
  m.finish();
}

void decode(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints&) {
  const nlattr* tb[NFTA_TABLE_MAX + 1];
  parse_message(nlh, tb, NFTA_TABLE_MAX);
  w.set_string("type", "table");
  w.set_string("family", family_name(message_family(nlh)));
  w.set_string("name", attr_string(tb[NFTA_TABLE_NAME]));
  if (tb[NFTA_TABLE_HANDLE]) w.set_u64("handle", be64(tb[NFTA_TABLE_HANDLE]));
  std::vector<std::string> flags;
  uint32_t value = be32(tb[NFTA_TABLE_FLAGS]);
  for (const auto& f : kFlags)
    if (value & f.value) flags.push_back(f.name);
  w.set_strings("flags", flags);
  if (tb[NFTA_TABLE_USE]) w.set_u64("use", be32(tb[NFTA_TABLE_USE]));
  if (tb[NFTA_TABLE_OWNER]) w.set_u64("owner", be32(tb[NFTA_TABLE_OWNER]));
  if (auto c = udata_comment(tb[NFTA_TABLE_USERDATA], kCommentUdata)) w.set_string("comment", *c);
}

}  // namespace

extern const ObjectKind table_object = {"table", NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, encode, decode};

}  // namespace netqos::nft
