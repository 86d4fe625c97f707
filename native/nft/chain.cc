// chain: { family, table, name, comment? } for a regular chain; a base chain adds
// { kind?: 'filter' | 'route' | 'nat' (the chain type; default filter), hook, priority, device? | devices?,
// policy?: 'accept' | 'drop' }. "flush" removes its rules (a DELRULE naming table and chain).
#include <linux/netfilter.h>
#include <linux/netfilter_arp.h>

#include <climits>

#include "nft/nft.h"

namespace netqos::nft {

namespace {

constexpr uint8_t kCommentUdata = 0;  // NFTNL_UDATA_CHAIN_COMMENT

struct HookName {
  const char* name;
  uint32_t value;
};
const HookName kInetHooks[] = {{"prerouting", NF_INET_PRE_ROUTING},   {"input", NF_INET_LOCAL_IN},
                               {"forward", NF_INET_FORWARD},          {"output", NF_INET_LOCAL_OUT},
                               {"postrouting", NF_INET_POST_ROUTING}, {"ingress", NF_INET_INGRESS}};
const HookName kArpHooks[] = {{"input", NF_ARP_IN}, {"output", NF_ARP_OUT}, {"forward", NF_ARP_FORWARD}};
const HookName kNetdevHooks[] = {{"ingress", NF_NETDEV_INGRESS}, {"egress", NF_NETDEV_EGRESS}};

template <size_t N>
std::string hook_list(const HookName (&hooks)[N]) {
  std::string out;
  for (const auto& h : hooks) out += (out.empty() ? "" : ", ") + std::string(h.name);
  return out;
}

// The hooks of a family: netdev has ingress and egress, arp input/output/forward, the rest
// the inet five (ingress too for inet).
template <typename F>
auto with_hooks(uint8_t family, F f) {
  if (family == NFPROTO_NETDEV) return f(kNetdevHooks);
  if (family == NFPROTO_ARP) return f(kArpHooks);
  return f(kInetHooks);
}

uint32_t read_hook(const FieldReader& r, uint8_t family) {
  auto name = r.string("hook");
  if (!name) r.fail("hook", "must be a hook name");
  return with_hooks(family, [&](const auto& hooks) -> uint32_t {
    for (const auto& h : hooks) {
      if (*name != h.name) continue;
      if (h.value == NF_INET_INGRESS && family != NFPROTO_INET && family != NFPROTO_NETDEV) break;
      return h.value;
    }
    r.fail("hook", quote(*name) + " is not a hook of the " + family_name(family) +
                       " family (allowed: " + hook_list(hooks) + ")");
  });
}

std::string hook_name(uint8_t family, uint32_t value) {
  return with_hooks(family, [&](const auto& hooks) -> std::string {
    for (const auto& h : hooks)
      if (h.value == value) return h.name;
    return std::to_string(value);
  });
}

void encode_hook(Message& m, const FieldReader& r, uint8_t family) {
  uint32_t hook = read_hook(r, family);
  auto priority = r.i64("priority");
  if (!priority) r.fail("priority", "is required with a hook (a number, lower runs first)");
  if (*priority < INT32_MIN || *priority > INT32_MAX) r.fail("priority", "is out of the 32-bit range");
  bool netdev = family == NFPROTO_NETDEV || hook == NF_INET_INGRESS;
  bool one = r.has("device"), many = r.has("devices");
  if (netdev && !one && !many) r.fail("device", "is required for a " + hook_name(family, hook) + " hook");
  if (!netdev && (one || many)) r.fail("device", "is only for netdev chains and the inet ingress hook");
  if (one && many) r.fail("devices", "give device or devices, not both");
  nlattr* h = nest(m, NFTA_CHAIN_HOOK);
  put_be32(m, NFTA_HOOK_HOOKNUM, hook);
  put_be32(m, NFTA_HOOK_PRIORITY, static_cast<uint32_t>(static_cast<int32_t>(*priority)));
  auto check_device = [&](const std::string& dev, const char* field) {
    if (dev.empty() || dev.size() > 15) r.fail(field, quote(dev) + " is not an interface name (1..15 bytes)");
  };
  if (one) {
    auto dev = r.string("device");
    if (!dev) r.fail("device", "must be an interface name");
    check_device(*dev, "device");
    m.put_strz(NFTA_HOOK_DEV, *dev);
  } else if (many) {
    auto devs = *r.strings("devices");
    if (devs.empty()) r.fail("devices", "must name at least one interface");
    nlattr* list = nest(m, NFTA_HOOK_DEVS);
    for (const auto& dev : devs) {
      check_device(dev, "devices");
      m.put_strz(NFTA_DEVICE_NAME, dev);
    }
    m.nest_end(list);
  }
  m.nest_end(h);
}

void encode(NftBatch& b, Verb verb, const FieldReader& r) {
  uint8_t family = read_family(r);
  if (verb == Verb::Insert || verb == Verb::Replace)
    r.fail(std::string("chains support add, create, delete, destroy and flush, not ") + verb_name(verb));
  std::string table = read_name(r, "table");
  bool by_handle = (verb == Verb::Delete || verb == Verb::Destroy) && r.has("handle") && !r.has("name");
  std::string name = by_handle ? "" : read_name(r, "name");
  if (verb == Verb::Flush) {
    Message m = begin_message(b, NFT_MSG_DELRULE, 0, family);
    m.put_strz(NFTA_RULE_TABLE, table);
    m.put_strz(NFTA_RULE_CHAIN, name);
    m.finish();
    return;
  }
  if (verb == Verb::Delete || verb == Verb::Destroy) {
    Message m = begin_message(
        b, verb == Verb::Delete ? static_cast<uint16_t>(NFT_MSG_DELCHAIN) : kMsgDestroyChain, 0, family);
    m.put_strz(NFTA_CHAIN_TABLE, table);
    if (by_handle)
      put_be64(m, NFTA_CHAIN_HANDLE, r.u64_in("handle", 1, ~0ULL, 0));
    else
      m.put_strz(NFTA_CHAIN_NAME, name);
    m.finish();
    return;
  }
  bool base = r.has("hook");
  if (!base) {
    for (const char* field : {"kind", "priority", "device", "devices", "policy"})
      if (r.has(field)) r.fail(field, "is only for base chains (give a hook)");
  }
  Message m =
      begin_message(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | (verb == Verb::Create ? NLM_F_EXCL : 0), family);
  m.put_strz(NFTA_CHAIN_TABLE, table);
  m.put_strz(NFTA_CHAIN_NAME, name);
  if (base) {
    auto type = r.string("kind").value_or("filter");
    if (type != "filter" && type != "route" && type != "nat")
      r.fail("kind", quote(type) + " is not a chain type (allowed: filter, route, nat)");
    m.put_strz(NFTA_CHAIN_TYPE, type);
    encode_hook(m, r, family);
    if (auto policy = r.string("policy")) {
      if (*policy != "accept" && *policy != "drop")
        r.fail("policy", quote(*policy) + " is not a policy (allowed: accept, drop)");
      put_be32(m, NFTA_CHAIN_POLICY, *policy == "accept" ? NF_ACCEPT : NF_DROP);
    }
  }
  put_comment(m, NFTA_CHAIN_USERDATA, kCommentUdata, r);
  m.finish();
}

void decode(const nlmsghdr* nlh, FieldWriter& w, const DecodeHints&) {
  const nlattr* tb[NFTA_CHAIN_MAX + 1];
  parse_message(nlh, tb, NFTA_CHAIN_MAX);
  uint8_t family = message_family(nlh);
  w.set_string("type", "chain");
  w.set_string("family", family_name(family));
  w.set_string("table", attr_string(tb[NFTA_CHAIN_TABLE]));
  w.set_string("name", attr_string(tb[NFTA_CHAIN_NAME]));
  if (tb[NFTA_CHAIN_HANDLE]) w.set_u64("handle", be64(tb[NFTA_CHAIN_HANDLE]));
  if (tb[NFTA_CHAIN_TYPE]) w.set_string("kind", attr_string(tb[NFTA_CHAIN_TYPE]));
  if (tb[NFTA_CHAIN_HOOK]) {
    const nlattr* hook[NFTA_HOOK_MAX + 1];
    parse_nested(tb[NFTA_CHAIN_HOOK], hook, NFTA_HOOK_MAX);
    if (hook[NFTA_HOOK_HOOKNUM]) w.set_string("hook", hook_name(family, be32(hook[NFTA_HOOK_HOOKNUM])));
    if (hook[NFTA_HOOK_PRIORITY]) w.set_i64("priority", static_cast<int32_t>(be32(hook[NFTA_HOOK_PRIORITY])));
    // Kernels list a single device as NFTA_HOOK_DEV, newer ones in NFTA_HOOK_DEVS as well.
    std::vector<std::string> devices;
    if (hook[NFTA_HOOK_DEVS])
      for_each_nested(hook[NFTA_HOOK_DEVS], [&](const nlattr* a) {
        if (mnl_attr_get_type(a) == NFTA_DEVICE_NAME) devices.push_back(attr_string(a));
      });
    else if (hook[NFTA_HOOK_DEV])
      devices.push_back(attr_string(hook[NFTA_HOOK_DEV]));
    if (devices.size() == 1)
      w.set_string("device", devices[0]);
    else if (!devices.empty())
      w.set_strings("devices", devices);
  }
  if (tb[NFTA_CHAIN_POLICY])
    w.set_string("policy", be32(tb[NFTA_CHAIN_POLICY]) == NF_ACCEPT ? "accept" : "drop");
  if (tb[NFTA_CHAIN_USE]) w.set_u64("use", be32(tb[NFTA_CHAIN_USE]));
  if (tb[NFTA_CHAIN_FLAGS]) {
    std::vector<std::string> flags;
    uint32_t value = be32(tb[NFTA_CHAIN_FLAGS]);
    for (auto [bit, name] : {std::pair{NFT_CHAIN_BASE, "base"}, std::pair{NFT_CHAIN_HW_OFFLOAD, "hw-offload"},
                             std::pair{NFT_CHAIN_BINDING, "binding"}})
      if (value & bit) flags.push_back(name);
    w.set_strings("flags", flags);
  }
  if (tb[NFTA_CHAIN_COUNTERS]) {
    const nlattr* c[NFTA_COUNTER_MAX + 1];
    parse_nested(tb[NFTA_CHAIN_COUNTERS], c, NFTA_COUNTER_MAX);
    auto stats = w.object("counters");
    stats->set_u64("packets", be64(c[NFTA_COUNTER_PACKETS]));
    stats->set_u64("bytes", be64(c[NFTA_COUNTER_BYTES]));
  }
  if (auto c = udata_comment(tb[NFTA_CHAIN_USERDATA], kCommentUdata)) w.set_string("comment", *c);
}

}  // namespace

extern const ObjectKind chain_object = {"chain", NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, encode, decode};

}  // namespace netqos::nft
