// gact: placeholder until its encoder lands.
#include "registry.h"

namespace netqos {
namespace {
void encode(Message& m, const FieldReader& r) { r.fail("kind", "\"gact\" is not implemented yet"); }
void decode(const nlattr* options, FieldWriter& w) {}
}  // namespace
extern const ActionKind gact_action = {"gact", encode, decode};
}  // namespace netqos
