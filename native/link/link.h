// Links: IFB creation in one message, deletion, and decoding of link dumps.
#pragma once

#include <linux/netlink.h>

#include "fields.h"
#include "operation.h"

namespace netqos {

void encode_link(Batch& batch, bool add, const FieldReader& r);
bool decode_link(const nlmsghdr* nlh, FieldWriter& w);

}  // namespace netqos
