// rule: { family, table, chain, expressions: [...], comment?, handle?, position? }.
// add appends (after `position`, a rule handle, when given); insert prepends (before
// `position`); replace and delete name the rule by `handle`.
#include "nft/nft.h"

namespace netqos::nft {

namespace {

constexpr uint8_t kCommentUdata = 0;  // NFTNL_UDATA_RULE_COMMENT

uint64_t read_handle(const FieldReader& r, const char* field, const char* why) {
  if (!r.has(field)) r.fail(field, std::string("is required ") + why);
  return r.u64_in(field, 1, ~0ULL, 0);
}

void encode(NftBatch& b, Verb verb, const FieldReader& r) {
  uint8_t family = read_family(r);
  if (verb == Verb::Create || verb == Verb::Flush)
    r.fail(std::string("rules support add, insert, replace, delete and destroy, not ") + verb_name(verb) +
           (verb == Verb::Flush ? " (flush the chain)" : ""));
  std::string table = read_name(r, "table");
  std::string chain = read_name(r, "chain");
  if (verb == Verb::Delete || verb == Verb::Destroy) {
    // Without a handle the kernel would delete every rule of the chain.
    uint64_t handle = read_handle(r, "handle", "to delete a rule (to empty a chain, flush it)");
    Message m = begin_message(
        b, verb == Verb::Delete ? static_cast<uint16_t>(NFT_MSG_DELRULE) : kMsgDestroyRule, 0, family);
    m.put_strz(NFTA_RULE_TABLE, table);
    m.put_strz(NFTA_RULE_CHAIN, chain);
    put_be64(m, NFTA_RULE_HANDLE, handle);
    m.finish();
    return;
  }
  uint16_t flags = verb == Verb::Add      ? NLM_F_CREATE | NLM_F_APPEND
                   : verb == Verb::Insert ? NLM_F_CREATE
                                          : NLM_F_REPLACE;
  Message m = begin_message(b, NFT_MSG_NEWRULE, flags, family);
  m.put_strz(NFTA_RULE_TABLE, table);
  m.put_strz(NFTA_RULE_CHAIN, chain);
  if (verb == Verb::Replace) {
    put_be64(m, NFTA_RULE_HANDLE, read_handle(r, "handle", "to replace a rule"));
    if (r.has("position")) r.fail("position", "is not for replace (the rule keeps its place)");
  } else if (r.has("position")) {
    put_be64(m, NFTA_RULE_POSITION, r.u64_in("position", 1, ~0ULL, 0));
  }
  ExprContext ctx{&b, family, table};
  encode_expressions(m, NFTA_RULE_EXPRESSIONS, r, ctx);
  put_comment(m, NFTA_RULE_USERDATA, kCommentUdata, r);
  m.finish();
}

void decode(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints&) {
  const nlattr* tb[NFTA_RULE_MAX + 1];
  parse_message(nlh, tb, NFTA_RULE_MAX);
  w.set_string("type", "rule");
  w.set_string("family", family_name(message_family(nlh)));
  w.set_string("table", attr_string(tb[NFTA_RULE_TABLE]));
  w.set_string("chain", attr_string(tb[NFTA_RULE_CHAIN]));
  if (tb[NFTA_RULE_HANDLE]) w.set_u64("handle", be64(tb[NFTA_RULE_HANDLE]));
  if (tb[NFTA_RULE_POSITION]) w.set_u64("position", be64(tb[NFTA_RULE_POSITION]));
  if (tb[NFTA_RULE_EXPRESSIONS]) decode_expressions(tb[NFTA_RULE_EXPRESSIONS], w);
  if (auto c = udata_comment(tb[NFTA_RULE_USERDATA], kCommentUdata)) w.set_string("comment", *c);
}

}  // namespace

void encode_expressions(Message& m, uint16_t type, const FieldReader& r, const ExprContext& ctx) {
  // A list encoded before in this batch is copied (a lookup's set id depends on the batch so
  // far: a list with one is encoded each time).
  uint64_t id = ctx.batch ? r.identity("expressions") : 0;
  std::tuple<uint64_t, uint16_t, uint8_t, std::string> key{id, type, ctx.family,
                                                           id ? ctx.table : std::string()};
  if (id) {
    auto known = ctx.batch->expressions.find(key);
    if (known != ctx.batch->expressions.end()) {
      m.put_raw(known->second.data(), known->second.size());
      return;
    }
  }
  bool memo = id != 0;
  size_t n = r.array_length("expressions");
  if (n > 128) r.fail("expressions", std::to_string(n) + " expressions are too many (at most 128)");
  nlattr* list = nest(m, type);
  for (size_t i = 0; i < n; i++) {
    auto e = r.element("expressions", i);
    auto kind_name = e->string("kind");
    if (!kind_name) e->fail("kind", "is required (" + expr_kind_names() + ")");
    const ExprKind* kind = find_expr_kind(*kind_name);
    if (!kind)
      e->fail("kind",
              quote(*kind_name) + " is not an expression netqos knows (allowed: " + expr_kind_names() + ")");
    if (kind->uses_batch) memo = false;
    nlattr* elem = nest(m, NFTA_LIST_ELEM);
    m.put_strz(NFTA_EXPR_NAME, kind->name);
    nlattr* data = nest(m, NFTA_EXPR_DATA);
    kind->encode(m, *e, ctx);
    m.nest_end(data);
    m.nest_end(elem);
  }
  m.nest_end(list);
  if (memo)
    ctx.batch->expressions.emplace(
        std::move(key), std::string(reinterpret_cast<const char*>(list), MNL_ALIGN(list->nla_len)));
}

void decode_expressions(const nlattr* list, FieldWriter& w) {
  // An empty rule still reads back with an (empty) expression list.
  w.set_strings("expressions", {});
  for_each_nested(list, [&](const nlattr* elem) {
    if (mnl_attr_get_type(elem) != NFTA_LIST_ELEM) return;
    const nlattr* tb[NFTA_EXPR_MAX + 1];
    parse_nested(elem, tb, NFTA_EXPR_MAX);
    std::string name = attr_string(tb[NFTA_EXPR_NAME]);
    auto e = w.append("expressions");
    e->set_string("kind", name);
    const ExprKind* kind = find_expr_kind(name);
    if (kind)
      kind->decode(tb[NFTA_EXPR_DATA], *e);
    else if (tb[NFTA_EXPR_DATA])
      e->set_string("data", to_hex(mnl_attr_get_payload(tb[NFTA_EXPR_DATA]),
                                   mnl_attr_get_payload_len(tb[NFTA_EXPR_DATA])));
  });
}

extern const ObjectKind rule_object = {"rule", NFT_MSG_NEWRULE, NFT_MSG_DELRULE, encode, decode};

}  // namespace netqos::nft
