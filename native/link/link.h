// Links: IFB creation in one message, changes (up, MTU, group), deletion (one, or a whole group),
// and decoding of link dumps.
#pragma once

#include <linux/netlink.h>

#include "fields.h"
#include "operation.h"

namespace netqos {

enum class LinkVerb { Add, Change, Delete };
void encode_link(Batch& batch, LinkVerb verb, const FieldReader& r);
bool decode_link(const nlmsghdr* nlh, FieldWriter& w);

}  // namespace netqos
