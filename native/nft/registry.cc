// The tables that register every nf_tables object kind and expression: adding one is a file
// that defines an ObjectKind or ExprKind and one line here.
#include "kind_table.h"
#include "nft/nft.h"

namespace netqos::nft {

extern const ObjectKind table_object, chain_object, rule_object, set_object, elements_object;
extern const ExprKind meta_expr, payload_expr, bitwise_expr, cmp_expr, limit_expr, connlimit_expr, ct_expr,
    counter_expr, reject_expr, immediate_expr, lookup_expr;

namespace {

const ObjectKind* const kObjects[] = {&table_object, &chain_object, &rule_object, &set_object,
                                      &elements_object};
const ExprKind* const kExprs[] = {&meta_expr,   &payload_expr,   &bitwise_expr, &cmp_expr,
                                  &limit_expr,  &connlimit_expr, &ct_expr,      &counter_expr,
                                  &reject_expr, &immediate_expr, &lookup_expr};

}  // namespace

const ExprKind* find_expr_kind(const std::string& name) { return find_kind(kExprs, name); }
std::string expr_kind_names() { return kind_names(kExprs); }
const ObjectKind* find_object_kind(const std::string& name) { return find_kind(kObjects, name); }
std::string object_kind_names() { return kind_names(kObjects); }

const ObjectKind* find_object_kind_by_msg(int msg) {
  for (const ObjectKind* k : kObjects)
    if (msg == k->new_msg || msg == k->del_msg) return k;
  return nullptr;
}

}  // namespace netqos::nft
