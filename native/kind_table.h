// Lookups in a registration table of kinds (each with a `name`), shared by the tc and the
// nf_tables registries.
#pragma once

#include <cstddef>
#include <string>

namespace netqos {

template <typename Kind, size_t N>
const Kind* find_kind(const Kind* const (&table)[N], const std::string& name) {
  for (const Kind* k : table)
    if (name == k->name) return k;
  return nullptr;
}

// "tbf, ingress, clsact" for messages.
template <typename Kind, size_t N>
std::string kind_names(const Kind* const (&table)[N]) {
  std::string out;
  for (const Kind* k : table) out += (out.empty() ? "" : ", ") + std::string(k->name);
  return out;
}

}  // namespace netqos
