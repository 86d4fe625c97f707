#include "registry.h"

#include "kind_table.h"

#include <cstring>

namespace netqos {

extern const QdiscKind tbf_qdisc, ingress_qdisc, clsact_qdisc, htb_qdisc, hfsc_qdisc, prio_qdisc,
    pfifo_fast_qdisc, pfifo_qdisc, bfifo_qdisc, sfq_qdisc, fq_codel_qdisc, codel_qdisc, fq_qdisc, cake_qdisc,
    netem_qdisc;
extern const ClassKind htb_class, hfsc_class;
extern const FilterKind u32_filter, matchall_filter, flower_filter, fw_filter, bpf_filter, basic_filter;
extern const ActionKind police_action, mirred_action, pedit_action, csum_action, skbedit_action, gact_action,
    vlan_action, tunnel_key_action, connmark_action, ct_action, sample_action, bpf_action, nat_action;

namespace {

const QdiscKind* const kQdiscs[] = {&tbf_qdisc,   &ingress_qdisc, &clsact_qdisc,     &htb_qdisc,
                                    &hfsc_qdisc,  &prio_qdisc,    &pfifo_fast_qdisc, &pfifo_qdisc,
                                    &bfifo_qdisc, &sfq_qdisc,     &fq_codel_qdisc,   &codel_qdisc,
                                    &fq_qdisc,    &cake_qdisc,    &netem_qdisc};
const ClassKind* const kClasses[] = {&htb_class, &hfsc_class};
const FilterKind* const kFilters[] = {&u32_filter, &matchall_filter, &flower_filter,
                                      &fw_filter,  &bpf_filter,      &basic_filter};
const ActionKind* const kActions[] = {&police_action,   &mirred_action, &pedit_action,  &csum_action,
                                      &skbedit_action,  &gact_action,   &vlan_action,   &tunnel_key_action,
                                      &connmark_action, &ct_action,     &sample_action, &bpf_action,
                                      &nat_action};

template <typename Kind, size_t N>
std::vector<std::string> list(const Kind* const (&table)[N]) {
  std::vector<std::string> out;
  for (const Kind* k : table) out.emplace_back(k->name);
  return out;
}

}  // namespace

const QdiscKind* find_qdisc_kind(const std::string& name) { return find_kind(kQdiscs, name); }
const ClassKind* find_class_kind(const std::string& name) { return find_kind(kClasses, name); }
const FilterKind* find_filter_kind(const std::string& name) { return find_kind(kFilters, name); }
const ActionKind* find_action_kind(const std::string& name) { return find_kind(kActions, name); }
std::vector<std::string> qdisc_kinds() { return list(kQdiscs); }
std::vector<std::string> class_kinds() { return list(kClasses); }
std::vector<std::string> filter_kinds() { return list(kFilters); }
std::vector<std::string> action_kinds() { return list(kActions); }
std::string qdisc_kind_names() { return kind_names(kQdiscs); }
std::string class_kind_names() { return kind_names(kClasses); }
std::string filter_kind_names() { return kind_names(kFilters); }
std::string action_kind_names() { return kind_names(kActions); }

}  // namespace netqos
