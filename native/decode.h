// Reply and notification messages decoded into the shapes operations are written in.
#pragma once

#include <linux/netlink.h>

#include <cstdint>

#include "dump_request.h"
#include "fields.h"

namespace netqos {

// The interface a link, qdisc, class, filter or chain message is about (0 for other messages).
uint32_t message_ifindex(const nlmsghdr* nlh);

// Decodes one reply message of a dump into w. Returns false for messages to skip.
bool decode_object(const nlmsghdr* nlh, FieldWriter& w);
// The same as `req` asked for it: a link's index and name only (names_only), a chain with the
// parent asked for.
bool decode_reply(const DumpRequest& req, const nlmsghdr* nlh, FieldWriter& w);
// Decodes one notification: "event" ("new" or "del") and the object as decode_object writes
// it; a new filter also says whether it was "created" (announced create-exclusive, so surely
// new). A filter deletion with handle 0 stands for every filter of its priority and protocol.
bool decode_event(const nlmsghdr* nlh, FieldWriter& w);

}  // namespace netqos
