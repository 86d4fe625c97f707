// skbedit: placeholder until its encoder lands.
#include "registry.h"

namespace netqos {
namespace {
void encode(Message& m, const FieldReader& r) { r.fail("kind", "\"skbedit\" is not implemented yet"); }
void decode(const nlattr* options, FieldWriter& w) {}
}  // namespace
extern const ActionKind skbedit_action = {"skbedit", encode, decode};
}  // namespace netqos
