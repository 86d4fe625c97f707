#include "link/link.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <optional>
#include <string>

namespace netqos {

namespace {

// Group numbers are u32; 0 is every interface's default.
uint32_t read_group(const FieldReader& r) {
  return static_cast<uint32_t>(r.u64_in("group", 0, 0xFFFFFFFFu, 0));
}

// The interface a change or delete is about: by index in the header, else by name.
void put_target(Message& m, ifinfomsg* ifi, const FieldReader& r, const std::optional<std::string>& name) {
  if (name && r.has("index")) r.fail("give name or index, not both");
  if (r.has("index"))
    ifi->ifi_index = static_cast<int>(r.u64_in("index", 1, 0x7FFFFFFF, 0));
  else
    m.put_strz(IFLA_IFNAME, *name);
}

void put_up(ifinfomsg* ifi, const FieldReader& r) {
  if (auto up = r.boolean("up")) {
    ifi->ifi_flags = *up ? IFF_UP : 0;
    ifi->ifi_change = IFF_UP;
  }
}

}  // namespace

void encode_link(Batch& batch, LinkVerb verb, const FieldReader& r) {
  auto name = r.string("name");
  if (name && (name->empty() || name->size() >= IFNAMSIZ))
    r.fail("name", quote(*name) + " must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters");
  if (verb == LinkVerb::Add) {
    if (!name) r.fail("name", "is required to create a link");
    auto kind = r.string("kind");
    if (!kind || *kind != "ifb") r.fail("kind", "must be \"ifb\" (the only link kind netqos creates)");
    Message m(batch, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    auto* ifi = static_cast<ifinfomsg*>(m.put_extra_header(sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    put_up(ifi, r);
    m.put_strz(IFLA_IFNAME, *name);
    if (r.has("mtu")) m.put_u32(IFLA_MTU, static_cast<uint32_t>(r.u64_in("mtu", 68, 0xFFFFFFFFu, 0)));
    if (r.has("txqlen")) m.put_u32(IFLA_TXQLEN, static_cast<uint32_t>(r.u64_in("txqlen", 0, 0xFFFFFFFFu, 0)));
    if (r.has("group")) m.put_u32(IFLA_GROUP, read_group(r));
    nlattr* info = m.nest_start(IFLA_LINKINFO);
    m.put(IFLA_INFO_KIND, kind->data(), kind->size());  // no NUL, as iproute2 sends it
    m.nest_end(info);
    m.finish();
    return;
  }
  if (verb == LinkVerb::Change) {
    if (!name && !r.has("index")) r.fail("name", "or index is required to change a link");
    Message m(batch, RTM_NEWLINK, NLM_F_ACK);
    auto* ifi = static_cast<ifinfomsg*>(m.put_extra_header(sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    put_up(ifi, r);
    put_target(m, ifi, r, name);
    if (r.has("mtu")) m.put_u32(IFLA_MTU, static_cast<uint32_t>(r.u64_in("mtu", 68, 0xFFFFFFFFu, 0)));
    if (r.has("group")) m.put_u32(IFLA_GROUP, read_group(r));
    m.finish();
    return;
  }
  // Delete one link, or every link of a group at once: the kernel then waits for one RCU grace
  // period for all of them instead of one each (about 20 ms per IFB).
  bool by_group = !name && !r.has("index");
  if (by_group && !r.has("group")) r.fail("name, index or group is required to delete links");
  if (!by_group && r.has("group")) r.fail("group", "deletes a whole group: give it without name or index");
  // Group 0 is every interface's default: deleting it would delete every interface there is.
  uint32_t group = by_group ? static_cast<uint32_t>(r.u64_in("group", 1, 0xFFFFFFFFu, 0)) : 0;
  Message m(batch, RTM_DELLINK, NLM_F_ACK);
  auto* ifi = static_cast<ifinfomsg*>(m.put_extra_header(sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  if (by_group)
    m.put_u32(IFLA_GROUP, group);
  else
    put_target(m, ifi, r, name);
  m.finish();
}

bool decode_link(const nlmsghdr* nlh, FieldWriter& w) {
  if (!has_header(nlh, NLMSG_ALIGN(sizeof(ifinfomsg)))) return false;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  const nlattr* tb[IFLA_MAX + 1];
  parse_payload(reinterpret_cast<const uint8_t*>(ifi) + NLMSG_ALIGN(sizeof(ifinfomsg)),
                mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(ifinfomsg)), tb, IFLA_MAX);
  w.set_string("type", "link");
  w.set_u64("index", static_cast<uint32_t>(ifi->ifi_index));
  if (tb[IFLA_IFNAME]) w.set_string("name", attr_str(tb[IFLA_IFNAME]));
  if (tb[IFLA_LINKINFO]) {
    const nlattr* info[IFLA_INFO_MAX + 1];
    parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX);
    if (info[IFLA_INFO_KIND]) w.set_string("kind", attr_str(info[IFLA_INFO_KIND]));
  }
  if (tb[IFLA_MTU]) w.set_u64("mtu", attr_u32(tb[IFLA_MTU]));
  if (tb[IFLA_GROUP]) w.set_u64("group", attr_u32(tb[IFLA_GROUP]));
  if (tb[IFLA_TXQLEN]) w.set_u64("txqlen", attr_u32(tb[IFLA_TXQLEN]));
  w.set_bool("up", ifi->ifi_flags & IFF_UP);
  w.set_u64("flags", ifi->ifi_flags);
  if (tb[IFLA_LINK]) w.set_u64("linkIndex", attr_u32(tb[IFLA_LINK]));
  if (tb[IFLA_LINK_NETNSID]) w.set_i64("linkNetnsId", static_cast<int32_t>(attr_u32(tb[IFLA_LINK_NETNSID])));
  if (tb[IFLA_ADDRESS]) {
    // As ip(8) prints it: "aa:bb:cc:dd:ee:ff".
    std::string hex =
        to_hex(mnl_attr_get_payload(tb[IFLA_ADDRESS]), mnl_attr_get_payload_len(tb[IFLA_ADDRESS]));
    std::string address;
    for (size_t i = 0; i < hex.size(); i += 2) address += (i ? ":" : "") + hex.substr(i, 2);
    w.set_string("address", address);
  }
  return true;
}

}  // namespace netqos
