// matchall: placeholder until its encoder lands.
#include "registry.h"

namespace netqos {
namespace {
void encode(Message& m, const FieldReader& r) { r.fail("kind", "\"matchall\" is not implemented yet"); }
void decode(const nlattr* options, FieldWriter& w) {}
}  // namespace
extern const FilterKind matchall_filter = {"matchall", encode, decode};
}  // namespace netqos
