// flower: match on packet headers (Ethernet, VLAN, IPv4/IPv6, TCP/UDP/SCTP ports, ICMP, TCP
// flags, conntrack state, tunnel metadata), with masks. The keys go out in the order of
// iproute2's f_flower.c parser (tc sends them in command-line order; netqos always uses this
// one), then the flags and the protocol. Also the encoder of chain templates, which take keys
// without values that matter.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

#include "operation.h"
#include "registry.h"

namespace netqos {

namespace {

struct Flag {
  const char* name;
  uint32_t bit;
};
// In tc's order: a state reads back in it.
const Flag kCtStates[] = {
    {"trk", TCA_FLOWER_KEY_CT_FLAGS_TRACKED},     {"new", TCA_FLOWER_KEY_CT_FLAGS_NEW},
    {"est", TCA_FLOWER_KEY_CT_FLAGS_ESTABLISHED}, {"rel", TCA_FLOWER_KEY_CT_FLAGS_RELATED},
    {"inv", TCA_FLOWER_KEY_CT_FLAGS_INVALID},     {"rpl", TCA_FLOWER_KEY_CT_FLAGS_REPLY}};
const Flag kIpFlags[] = {{"frag", TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT},
                         {"firstfrag", TCA_FLOWER_KEY_FLAGS_FRAG_IS_FIRST}};

// A value attribute of `bytes` bytes (network order when `be`), and its mask from `mask_field`
// (all ones when not given; sent only when given unless `always_mask`).
struct Masked {
  const char* field;
  const char* mask_field;
  uint16_t type, mask_type;
  int bytes;
  bool be;
  uint64_t full;
  bool always_mask;
};

void put_number(Message& m, uint16_t type, int bytes, bool be, uint64_t v) {
  if (bytes == 1) m.put_u8(type, static_cast<uint8_t>(v));
  if (bytes == 2) m.put_u16(type, be ? htons(static_cast<uint16_t>(v)) : static_cast<uint16_t>(v));
  if (bytes == 4) m.put_u32(type, be ? htonl(static_cast<uint32_t>(v)) : static_cast<uint32_t>(v));
}

void put_masked(Message& m, const FieldReader& r, const Masked& k) {
  if (!r.has(k.field)) {
    if (r.has(k.mask_field)) r.fail(k.mask_field, std::string("needs ") + k.field);
    return;
  }
  put_number(m, k.type, k.bytes, k.be, r.u64_in(k.field, 0, k.full, 0));
  if (k.always_mask || r.has(k.mask_field))
    put_number(m, k.mask_type, k.bytes, k.be, r.u64_in(k.mask_field, 0, k.full, k.full));
}

uint64_t get_number(const nlattr* a, int bytes, bool be) {
  if (bytes == 1) return attr_u8(a);
  if (bytes == 2) return be ? ntohs(attr_u16(a)) : attr_u16(a);
  return be ? ntohl(attr_u32(a)) : attr_u32(a);
}

void get_masked(const nlattr* const* tb, const Masked& k, FieldWriter& w) {
  const nlattr* v = tb[k.type];
  if (!v || mnl_attr_get_payload_len(v) < static_cast<size_t>(k.bytes)) return;
  w.set_u64(k.field, get_number(v, k.bytes, k.be));
  const nlattr* mask = tb[k.mask_type];
  if (mask && mnl_attr_get_payload_len(mask) >= static_cast<size_t>(k.bytes)) {
    uint64_t bits = get_number(mask, k.bytes, k.be);
    if (bits != k.full) w.set_u64(k.mask_field, bits);
  }
}

// "+trk+est-new" as flags and mask; "frag/nofirstfrag" likewise.
template <size_t N>
void read_flags(const FieldReader& r, const char* field, const Flag (&table)[N], bool signs, uint32_t& value,
                uint32_t& mask) {
  std::string s = *r.string(field);
  size_t at = 0;
  while (at < s.size()) {
    bool on = true;
    if (signs) {
      if (s[at] != '+' && s[at] != '-') r.fail(field, quote(s) + ": each state starts with + or -");
      on = s[at++] == '+';
    } else {
      if (s[at] == '/') at++;
      if (s.compare(at, 2, "no") == 0) {
        on = false;
        at += 2;
      }
    }
    const Flag* hit = nullptr;
    for (const Flag& f : table)
      if (s.compare(at, std::strlen(f.name), f.name) == 0 &&
          (!hit || std::strlen(f.name) > std::strlen(hit->name)))
        hit = &f;
    if (!hit) {
      std::string names;
      for (const Flag& f : table) names += (names.empty() ? "" : ", ") + std::string(f.name);
      r.fail(field, quote(s) + " is not understood (flags: " + names + ")");
    }
    at += std::strlen(hit->name);
    if (on) value |= hit->bit;
    mask |= hit->bit;
  }
}

template <size_t N>
std::string flags_text(const Flag (&table)[N], bool signs, uint32_t value, uint32_t mask) {
  std::string out;
  for (const Flag& f : table) {
    if (!(mask & f.bit)) continue;
    bool on = value & f.bit;
    if (signs)
      out += std::string(on ? "+" : "-") + f.name;
    else
      out += (out.empty() ? "" : "/") + std::string(on ? "" : "no") + f.name;
  }
  return out;
}

// An address with its mask (always sent, as tc does): a prefix, or for MACs "addr/mask" too.
void put_mac(Message& m, const FieldReader& r, const char* field, uint16_t type, uint16_t mask_type) {
  auto s = r.string(field);
  if (!s) return;
  std::string addr = *s, mask_text;
  size_t slash = addr.find('/');
  if (slash != std::string::npos) {
    mask_text = addr.substr(slash + 1);
    addr.resize(slash);
  }
  uint8_t mac[6], mask[6];
  if (!parse_mac(addr, mac))
    r.fail(field, quote(*s) + " is not a MAC address (e.g. \"02:00:00:00:00:01\", \"/24\" for a prefix)");
  std::memset(mask, 0xff, sizeof mask);
  if (!mask_text.empty() && !parse_mac(mask_text, mask)) {
    if (mask_text.size() > 2 || mask_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(mask_text) > 48)
      r.fail(field, quote(*s) + " has a bad mask (a MAC address or a prefix length 0..48)");
    int bits = std::stoi(mask_text);
    std::memset(mask, 0, sizeof mask);
    for (int i = 0; i < bits; i++) mask[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  }
  m.put(type, mac, sizeof mac);
  m.put(mask_type, mask, sizeof mask);
}

void get_mac(const nlattr* const* tb, int type, int mask_type, FieldWriter& w, const char* field) {
  if (!tb[type] || mnl_attr_get_payload_len(tb[type]) < 6) return;
  const auto* mac = static_cast<const uint8_t*>(mnl_attr_get_payload(tb[type]));
  std::string text = mac_text(mac);
  if (tb[mask_type] && mnl_attr_get_payload_len(tb[mask_type]) >= 6) {
    const auto* mask = static_cast<const uint8_t*>(mnl_attr_get_payload(tb[mask_type]));
    int bits = 0;
    bool contiguous = true;
    for (int i = 0; i < 48; i++) {
      bool set = mask[i / 8] & (0x80 >> (i % 8));
      if (set && bits != i) contiguous = false;
      if (set) bits++;
    }
    if (bits < 48) text += "/" + (contiguous ? std::to_string(bits) : mac_text(mask));
  }
  w.set_string(field, text);
}

struct IpAttrs {
  uint16_t v4, v4_mask, v6, v6_mask;
};
const IpAttrs kDstIp = {TCA_FLOWER_KEY_IPV4_DST, TCA_FLOWER_KEY_IPV4_DST_MASK, TCA_FLOWER_KEY_IPV6_DST,
                        TCA_FLOWER_KEY_IPV6_DST_MASK};
const IpAttrs kSrcIp = {TCA_FLOWER_KEY_IPV4_SRC, TCA_FLOWER_KEY_IPV4_SRC_MASK, TCA_FLOWER_KEY_IPV6_SRC,
                        TCA_FLOWER_KEY_IPV6_SRC_MASK};
const IpAttrs kEncDstIp = {TCA_FLOWER_KEY_ENC_IPV4_DST, TCA_FLOWER_KEY_ENC_IPV4_DST_MASK,
                           TCA_FLOWER_KEY_ENC_IPV6_DST, TCA_FLOWER_KEY_ENC_IPV6_DST_MASK};
const IpAttrs kEncSrcIp = {TCA_FLOWER_KEY_ENC_IPV4_SRC, TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK,
                           TCA_FLOWER_KEY_ENC_IPV6_SRC, TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK};

// family: the one the protocol implies (AF_UNSPEC: either, as for tunnel addresses).
void put_ip(Message& m, const FieldReader& r, const char* field, const IpAttrs& a, int family) {
  if (!r.has(field)) return;
  IpPrefix ip = read_ip(r, field, family, true);
  uint8_t mask[16];
  ip.mask(mask);
  m.put(ip.family == AF_INET ? a.v4 : a.v6, ip.addr, ip.len);
  m.put(ip.family == AF_INET ? a.v4_mask : a.v6_mask, mask, ip.len);
}

void get_ip(const nlattr* const* tb, const IpAttrs& a, FieldWriter& w, const char* field) {
  static const uint8_t full[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  for (auto [family, type, mask_type, len] :
       {std::tuple{AF_INET, a.v4, a.v4_mask, 4u}, std::tuple{AF_INET6, a.v6, a.v6_mask, 16u}}) {
    if (!tb[type] || mnl_attr_get_payload_len(tb[type]) < len) continue;
    const uint8_t* mask = tb[mask_type] && mnl_attr_get_payload_len(tb[mask_type]) >= len
                              ? static_cast<const uint8_t*>(mnl_attr_get_payload(tb[mask_type]))
                              : full;
    w.set_string(field,
                 ip_masked_text(family, static_cast<const uint8_t*>(mnl_attr_get_payload(tb[type])), mask));
  }
}

// An EtherType field ("ip", "ipv6", "802.1q", ... or a number) in network order.
uint16_t read_ethtype(const FieldReader& r, const char* field) {
  struct Name {
    const char* name;
    uint16_t value;
  };
  static const Name names[] = {{"ip", ETH_P_IP},        {"ipv6", ETH_P_IPV6},      {"arp", ETH_P_ARP},
                               {"802.1q", ETH_P_8021Q}, {"802.1ad", ETH_P_8021AD}, {"all", ETH_P_ALL}};
  if (auto s = r.string(field)) {
    for (const Name& n : names)
      if (*s == n.name) return htons(n.value);
    r.fail(field, quote(*s) + " is not an EtherType (ip, ipv6, arp, 802.1q, 802.1ad, or a number)");
  }
  return htons(static_cast<uint16_t>(r.u64_in(field, 0, 0xFFFF, 0)));
}

bool is_vlan(uint16_t be_type) { return be_type == htons(ETH_P_8021Q) || be_type == htons(ETH_P_8021AD); }

uint8_t read_ip_proto(const FieldReader& r, uint16_t eth_type) {
  if (eth_type != htons(ETH_P_IP) && eth_type != htons(ETH_P_IPV6))
    r.fail("ipProto", "needs protocol ip or ipv6 (or vlanEthType, cvlanEthType one of them)");
  if (auto s = r.string("ipProto")) {
    if (*s == "tcp") return IPPROTO_TCP;
    if (*s == "udp") return IPPROTO_UDP;
    if (*s == "sctp") return IPPROTO_SCTP;
    if (*s == "icmp" && eth_type == htons(ETH_P_IP)) return IPPROTO_ICMP;
    if (*s == "icmpv6" && eth_type == htons(ETH_P_IPV6)) return IPPROTO_ICMPV6;
    r.fail("ipProto",
           quote(*s) + " is not allowed here (tcp, udp, sctp, icmp with ip, icmpv6 with ipv6, or a number)");
  }
  return static_cast<uint8_t>(r.u64_in("ipProto", 0, 0xFF, 0));
}

// A port: one value (optionally masked) or a range up to `max_field`.
void put_port(Message& m, const FieldReader& r, const char* field, const char* mask_field,
              const char* max_field, uint8_t ip_proto, bool dst) {
  if (!r.has(field)) {
    for (const char* f : {mask_field, max_field})
      if (r.has(f)) r.fail(f, std::string("needs ") + field);
    return;
  }
  uint16_t key, mask_key;
  if (ip_proto == IPPROTO_TCP) {
    key = dst ? TCA_FLOWER_KEY_TCP_DST : TCA_FLOWER_KEY_TCP_SRC;
    mask_key = dst ? TCA_FLOWER_KEY_TCP_DST_MASK : TCA_FLOWER_KEY_TCP_SRC_MASK;
  } else if (ip_proto == IPPROTO_UDP) {
    key = dst ? TCA_FLOWER_KEY_UDP_DST : TCA_FLOWER_KEY_UDP_SRC;
    mask_key = dst ? TCA_FLOWER_KEY_UDP_DST_MASK : TCA_FLOWER_KEY_UDP_SRC_MASK;
  } else if (ip_proto == IPPROTO_SCTP) {
    key = dst ? TCA_FLOWER_KEY_SCTP_DST : TCA_FLOWER_KEY_SCTP_SRC;
    mask_key = dst ? TCA_FLOWER_KEY_SCTP_DST_MASK : TCA_FLOWER_KEY_SCTP_SRC_MASK;
  } else {
    r.fail(field, "needs ipProto tcp, udp or sctp");
  }
  auto port = static_cast<uint16_t>(r.u64_in(field, 0, 0xFFFF, 0));
  if (r.has(max_field)) {
    if (r.has(mask_field))
      r.fail(mask_field, std::string("and ") + max_field + " are exclusive (a mask or a range)");
    auto max = static_cast<uint16_t>(r.u64_in(max_field, 0, 0xFFFF, 0));
    if (max <= port) r.fail(max_field, std::string("must be above ") + field);
    m.put_u16(dst ? TCA_FLOWER_KEY_PORT_DST_MIN : TCA_FLOWER_KEY_PORT_SRC_MIN, htons(port));
    m.put_u16(dst ? TCA_FLOWER_KEY_PORT_DST_MAX : TCA_FLOWER_KEY_PORT_SRC_MAX, htons(max));
    return;
  }
  m.put_u16(key, htons(port));
  if (r.has(mask_field))
    m.put_u16(mask_key, htons(static_cast<uint16_t>(r.u64_in(mask_field, 0, 0xFFFF, 0))));
}

void get_port(const nlattr* const* tb, bool dst, FieldWriter& w) {
  const char* field = dst ? "dstPort" : "srcPort";
  const char* mask_field = dst ? "dstPortMask" : "srcPortMask";
  const char* max_field = dst ? "dstPortMax" : "srcPortMax";
  const int keys[3][2] = {{dst ? TCA_FLOWER_KEY_TCP_DST : TCA_FLOWER_KEY_TCP_SRC,
                           dst ? TCA_FLOWER_KEY_TCP_DST_MASK : TCA_FLOWER_KEY_TCP_SRC_MASK},
                          {dst ? TCA_FLOWER_KEY_UDP_DST : TCA_FLOWER_KEY_UDP_SRC,
                           dst ? TCA_FLOWER_KEY_UDP_DST_MASK : TCA_FLOWER_KEY_UDP_SRC_MASK},
                          {dst ? TCA_FLOWER_KEY_SCTP_DST : TCA_FLOWER_KEY_SCTP_SRC,
                           dst ? TCA_FLOWER_KEY_SCTP_DST_MASK : TCA_FLOWER_KEY_SCTP_SRC_MASK}};
  for (const auto& k : keys)
    get_masked(
        tb,
        {field, mask_field, static_cast<uint16_t>(k[0]), static_cast<uint16_t>(k[1]), 2, true, 0xFFFF, false},
        w);
  int min = dst ? TCA_FLOWER_KEY_PORT_DST_MIN : TCA_FLOWER_KEY_PORT_SRC_MIN;
  int max = dst ? TCA_FLOWER_KEY_PORT_DST_MAX : TCA_FLOWER_KEY_PORT_SRC_MAX;
  if (tb[min] && tb[max] && mnl_attr_get_payload_len(tb[min]) >= 2 &&
      mnl_attr_get_payload_len(tb[max]) >= 2) {
    w.set_u64(field, ntohs(attr_u16(tb[min])));
    w.set_u64(max_field, ntohs(attr_u16(tb[max])));
  }
}

const Masked kCtZone = {"ctZone", "ctZoneMask", TCA_FLOWER_KEY_CT_ZONE, TCA_FLOWER_KEY_CT_ZONE_MASK, 2, false,
                        0xFFFF,   true};
const Masked kCtMark = {
    "ctMark", "ctMarkMask", TCA_FLOWER_KEY_CT_MARK, TCA_FLOWER_KEY_CT_MARK_MASK, 4, false, 0xFFFFFFFF, true};
const Masked kIpTos = {"ipTos", "ipTosMask", TCA_FLOWER_KEY_IP_TOS, TCA_FLOWER_KEY_IP_TOS_MASK, 1, false,
                       0xFF,    true};
const Masked kIpTtl = {"ipTtl", "ipTtlMask", TCA_FLOWER_KEY_IP_TTL, TCA_FLOWER_KEY_IP_TTL_MASK, 1, false,
                       0xFF,    true};
// TCP flags are 12 bits, in network order.
const Masked kTcpFlags = {
    "tcpFlags", "tcpFlagsMask", TCA_FLOWER_KEY_TCP_FLAGS, TCA_FLOWER_KEY_TCP_FLAGS_MASK, 2, true, 0xFFF,
    true};
const Masked kEncTos = {
    "encTos", "encTosMask", TCA_FLOWER_KEY_ENC_IP_TOS, TCA_FLOWER_KEY_ENC_IP_TOS_MASK, 1, false, 0xFF, true};
const Masked kEncTtl = {
    "encTtl", "encTtlMask", TCA_FLOWER_KEY_ENC_IP_TTL, TCA_FLOWER_KEY_ENC_IP_TTL_MASK, 1, false, 0xFF, true};
const Masked kIcmp4Type = {
    "icmpType", "icmpTypeMask", TCA_FLOWER_KEY_ICMPV4_TYPE, TCA_FLOWER_KEY_ICMPV4_TYPE_MASK, 1, false, 0xFF,
    true};
const Masked kIcmp4Code = {
    "icmpCode", "icmpCodeMask", TCA_FLOWER_KEY_ICMPV4_CODE, TCA_FLOWER_KEY_ICMPV4_CODE_MASK, 1, false, 0xFF,
    true};
const Masked kIcmp6Type = {
    "icmpType", "icmpTypeMask", TCA_FLOWER_KEY_ICMPV6_TYPE, TCA_FLOWER_KEY_ICMPV6_TYPE_MASK, 1, false, 0xFF,
    true};
const Masked kIcmp6Code = {
    "icmpCode", "icmpCodeMask", TCA_FLOWER_KEY_ICMPV6_CODE, TCA_FLOWER_KEY_ICMPV6_CODE_MASK, 1, false, 0xFF,
    true};

void encode(Message& m, const FieldReader& r) {
  // The protocol as the header carries it (a chain template's defaults to 0, not "all").
  const auto* tcm = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(m.header()));
  auto tc_proto = static_cast<uint16_t>(TC_H_MIN(tcm->tcm_info));
  uint16_t eth_type = tc_proto;
  uint32_t flags = read_cls_flags(r);

  nlattr* options = m.nest_start(TCA_OPTIONS);
  if (r.has("classid")) m.put_u32(TCA_FLOWER_CLASSID, parse_handle(r, "classid", HandleContext::ClassId, 0));
  uint32_t ip_flags = 0, ip_flags_mask = 0;
  if (r.has("ipFlags")) read_flags(r, "ipFlags", kIpFlags, false, ip_flags, ip_flags_mask);
  if (r.has("ctState")) {
    uint32_t state = 0, mask = 0;
    read_flags(r, "ctState", kCtStates, true, state, mask);
    m.put_u16(TCA_FLOWER_KEY_CT_STATE, static_cast<uint16_t>(state));
    m.put_u16(TCA_FLOWER_KEY_CT_STATE_MASK, static_cast<uint16_t>(mask));
  }
  put_masked(m, r, kCtZone);
  put_masked(m, r, kCtMark);
  if (r.has("ctLabel")) {
    auto label = parse_hex(r, "ctLabel", 16);
    auto mask = parse_hex(r, "ctLabelMask", 16);
    if (mask.empty()) mask.assign(16, 0xff);
    m.put(TCA_FLOWER_KEY_CT_LABELS, label.data(), label.size());
    m.put(TCA_FLOWER_KEY_CT_LABELS_MASK, mask.data(), mask.size());
  }
  if (auto indev = r.string("indev")) {
    if (indev->empty() || indev->size() > 15) r.fail("indev", quote(*indev) + " is not an interface name");
    m.put_strz(TCA_FLOWER_INDEV, *indev);
  }
  bool vlan = is_vlan(tc_proto);
  for (const char* f : {"vlanId", "vlanPrio", "vlanEthType"})
    if (r.has(f) && !vlan) r.fail(f, "needs protocol 802.1q or 802.1ad");
  if (r.has("vlanId"))
    m.put_u16(TCA_FLOWER_KEY_VLAN_ID, static_cast<uint16_t>(r.u64_in("vlanId", 0, 4095, 0)));
  put_u8_field(m, r, "vlanPrio", TCA_FLOWER_KEY_VLAN_PRIO, 0, 7);
  uint16_t vlan_eth_type = 0;
  if (r.has("vlanEthType")) {
    vlan_eth_type = read_ethtype(r, "vlanEthType");
    m.put_u16(TCA_FLOWER_KEY_VLAN_ETH_TYPE, vlan_eth_type);
    eth_type = vlan_eth_type;
  }
  for (const char* f : {"cvlanId", "cvlanPrio", "cvlanEthType"})
    if (r.has(f) && !is_vlan(vlan_eth_type)) r.fail(f, "needs vlanEthType 802.1q or 802.1ad");
  if (r.has("cvlanId"))
    m.put_u16(TCA_FLOWER_KEY_CVLAN_ID, static_cast<uint16_t>(r.u64_in("cvlanId", 0, 4095, 0)));
  put_u8_field(m, r, "cvlanPrio", TCA_FLOWER_KEY_CVLAN_PRIO, 0, 7);
  if (r.has("cvlanEthType")) {
    eth_type = read_ethtype(r, "cvlanEthType");
    m.put_u16(TCA_FLOWER_KEY_CVLAN_ETH_TYPE, eth_type);
  }
  put_mac(m, r, "dstMac", TCA_FLOWER_KEY_ETH_DST, TCA_FLOWER_KEY_ETH_DST_MASK);
  put_mac(m, r, "srcMac", TCA_FLOWER_KEY_ETH_SRC, TCA_FLOWER_KEY_ETH_SRC_MASK);
  uint8_t ip_proto = 0xFF;
  if (r.has("ipProto")) {
    ip_proto = read_ip_proto(r, eth_type);
    m.put_u8(TCA_FLOWER_KEY_IP_PROTO, ip_proto);
  }
  put_masked(m, r, kIpTos);
  put_masked(m, r, kIpTtl);
  int family = eth_type == htons(ETH_P_IP) ? AF_INET : eth_type == htons(ETH_P_IPV6) ? AF_INET6 : -1;
  for (const char* f : {"dstIp", "srcIp"})
    if (r.has(f) && family < 0)
      r.fail(f, "needs protocol ip or ipv6 (or vlanEthType, cvlanEthType one of them)");
  put_ip(m, r, "dstIp", kDstIp, family);
  put_ip(m, r, "srcIp", kSrcIp, family);
  put_port(m, r, "dstPort", "dstPortMask", "dstPortMax", ip_proto, true);
  put_port(m, r, "srcPort", "srcPortMask", "srcPortMax", ip_proto, false);
  if (r.has("tcpFlags") && ip_proto != IPPROTO_TCP) r.fail("tcpFlags", "needs ipProto tcp");
  put_masked(m, r, kTcpFlags);
  bool icmp4 = eth_type == htons(ETH_P_IP) && ip_proto == IPPROTO_ICMP;
  bool icmp6 = eth_type == htons(ETH_P_IPV6) && ip_proto == IPPROTO_ICMPV6;
  for (const char* f : {"icmpType", "icmpCode"})
    if (r.has(f) && !icmp4 && !icmp6) r.fail(f, "needs ipProto icmp (protocol ip) or icmpv6 (protocol ipv6)");
  put_masked(m, r, icmp6 ? kIcmp6Type : kIcmp4Type);
  put_masked(m, r, icmp6 ? kIcmp6Code : kIcmp4Code);
  put_ip(m, r, "encDstIp", kEncDstIp, AF_UNSPEC);
  put_ip(m, r, "encSrcIp", kEncSrcIp, AF_UNSPEC);
  if (r.has("encKeyId"))
    m.put_u32(TCA_FLOWER_KEY_ENC_KEY_ID,
              htonl(static_cast<uint32_t>(r.u64_in("encKeyId", 0, 0xFFFFFFFFu, 0))));
  if (r.has("encDstPort"))
    m.put_u16(TCA_FLOWER_KEY_ENC_UDP_DST_PORT,
              htons(static_cast<uint16_t>(r.u64_in("encDstPort", 0, 0xFFFF, 0))));
  put_masked(m, r, kEncTos);
  put_masked(m, r, kEncTtl);
  encode_actions(m, TCA_FLOWER_ACT, r);
  m.put_u32(TCA_FLOWER_FLAGS, flags);
  if (ip_flags_mask) {
    m.put_u32(TCA_FLOWER_KEY_FLAGS, htonl(ip_flags));
    m.put_u32(TCA_FLOWER_KEY_FLAGS_MASK, htonl(ip_flags_mask));
  }
  if (tc_proto != htons(ETH_P_ALL)) m.put_u16(TCA_FLOWER_KEY_ETH_TYPE, tc_proto);
  m.nest_end(options);
}

void decode(const nlattr* options, FieldWriter& w) {
  const nlattr* tb[TCA_FLOWER_MAX + 1];
  parse_nested(options, tb, TCA_FLOWER_MAX);
  if (tb[TCA_FLOWER_CLASSID] && mnl_attr_get_payload_len(tb[TCA_FLOWER_CLASSID]) >= 4)
    w.set_string("classid", handle_name(attr_u32(tb[TCA_FLOWER_CLASSID]), HandleContext::ClassId));
  if (tb[TCA_FLOWER_FLAGS] && mnl_attr_get_payload_len(tb[TCA_FLOWER_FLAGS]) >= 4)
    write_cls_flags(attr_u32(tb[TCA_FLOWER_FLAGS]), w);
  auto u32_pair = [&](int type, int mask_type, bool be, uint32_t& v, uint32_t& mask) {
    if (!tb[type] || !tb[mask_type] || mnl_attr_get_payload_len(tb[type]) < 4) return false;
    v = be ? ntohl(attr_u32(tb[type])) : attr_u32(tb[type]);
    mask = be ? ntohl(attr_u32(tb[mask_type])) : attr_u32(tb[mask_type]);
    return true;
  };
  uint32_t v, mask;
  if (u32_pair(TCA_FLOWER_KEY_FLAGS, TCA_FLOWER_KEY_FLAGS_MASK, true, v, mask) && mask)
    w.set_string("ipFlags", flags_text(kIpFlags, false, v, mask));
  if (tb[TCA_FLOWER_KEY_CT_STATE] && tb[TCA_FLOWER_KEY_CT_STATE_MASK] &&
      attr_u16(tb[TCA_FLOWER_KEY_CT_STATE_MASK]))
    w.set_string("ctState", flags_text(kCtStates, true, attr_u16(tb[TCA_FLOWER_KEY_CT_STATE]),
                                       attr_u16(tb[TCA_FLOWER_KEY_CT_STATE_MASK])));
  get_masked(tb, kCtZone, w);
  get_masked(tb, kCtMark, w);
  if (tb[TCA_FLOWER_KEY_CT_LABELS]) {
    w.set_string("ctLabel", to_hex(mnl_attr_get_payload(tb[TCA_FLOWER_KEY_CT_LABELS]),
                                   mnl_attr_get_payload_len(tb[TCA_FLOWER_KEY_CT_LABELS])));
    if (tb[TCA_FLOWER_KEY_CT_LABELS_MASK]) {
      std::string m = to_hex(mnl_attr_get_payload(tb[TCA_FLOWER_KEY_CT_LABELS_MASK]),
                             mnl_attr_get_payload_len(tb[TCA_FLOWER_KEY_CT_LABELS_MASK]));
      if (m.find_first_not_of('f') != std::string::npos) w.set_string("ctLabelMask", m);
    }
  }
  // The protocol as flower keeps it: a chain template's only record of it (the kernel leaves
  // tcm_info unset in chain messages); for a filter, the same as its header says. Not with VLAN
  // keys, where flower keeps the innermost EtherType there instead.
  if (tb[TCA_FLOWER_KEY_ETH_TYPE] && mnl_attr_get_payload_len(tb[TCA_FLOWER_KEY_ETH_TYPE]) >= 2 &&
      !tb[TCA_FLOWER_KEY_VLAN_ETH_TYPE])
    w.set_string("protocol", protocol_name(ntohs(attr_u16(tb[TCA_FLOWER_KEY_ETH_TYPE]))));
  if (tb[TCA_FLOWER_INDEV]) w.set_string("indev", attr_str(tb[TCA_FLOWER_INDEV]));
  get_uint_field(tb, TCA_FLOWER_KEY_VLAN_ID, 2, w, "vlanId");
  get_uint_field(tb, TCA_FLOWER_KEY_VLAN_PRIO, 1, w, "vlanPrio");
  if (tb[TCA_FLOWER_KEY_VLAN_ETH_TYPE])
    w.set_string("vlanEthType", protocol_name(ntohs(attr_u16(tb[TCA_FLOWER_KEY_VLAN_ETH_TYPE]))));
  get_uint_field(tb, TCA_FLOWER_KEY_CVLAN_ID, 2, w, "cvlanId");
  get_uint_field(tb, TCA_FLOWER_KEY_CVLAN_PRIO, 1, w, "cvlanPrio");
  if (tb[TCA_FLOWER_KEY_CVLAN_ETH_TYPE])
    w.set_string("cvlanEthType", protocol_name(ntohs(attr_u16(tb[TCA_FLOWER_KEY_CVLAN_ETH_TYPE]))));
  get_mac(tb, TCA_FLOWER_KEY_ETH_DST, TCA_FLOWER_KEY_ETH_DST_MASK, w, "dstMac");
  get_mac(tb, TCA_FLOWER_KEY_ETH_SRC, TCA_FLOWER_KEY_ETH_SRC_MASK, w, "srcMac");
  if (tb[TCA_FLOWER_KEY_IP_PROTO]) {
    uint8_t proto = attr_u8(tb[TCA_FLOWER_KEY_IP_PROTO]);
    const char* name = proto == IPPROTO_TCP      ? "tcp"
                       : proto == IPPROTO_UDP    ? "udp"
                       : proto == IPPROTO_SCTP   ? "sctp"
                       : proto == IPPROTO_ICMP   ? "icmp"
                       : proto == IPPROTO_ICMPV6 ? "icmpv6"
                                                 : nullptr;
    if (name)
      w.set_string("ipProto", name);
    else
      w.set_u64("ipProto", proto);
  }
  get_masked(tb, kIpTos, w);
  get_masked(tb, kIpTtl, w);
  get_ip(tb, kDstIp, w, "dstIp");
  get_ip(tb, kSrcIp, w, "srcIp");
  get_port(tb, true, w);
  get_port(tb, false, w);
  get_masked(tb, kTcpFlags, w);
  for (const Masked* k : {&kIcmp4Type, &kIcmp4Code, &kIcmp6Type, &kIcmp6Code}) get_masked(tb, *k, w);
  get_ip(tb, kEncDstIp, w, "encDstIp");
  get_ip(tb, kEncSrcIp, w, "encSrcIp");
  if (tb[TCA_FLOWER_KEY_ENC_KEY_ID] && mnl_attr_get_payload_len(tb[TCA_FLOWER_KEY_ENC_KEY_ID]) >= 4)
    w.set_u64("encKeyId", ntohl(attr_u32(tb[TCA_FLOWER_KEY_ENC_KEY_ID])));
  if (tb[TCA_FLOWER_KEY_ENC_UDP_DST_PORT] &&
      mnl_attr_get_payload_len(tb[TCA_FLOWER_KEY_ENC_UDP_DST_PORT]) >= 2)
    w.set_u64("encDstPort", ntohs(attr_u16(tb[TCA_FLOWER_KEY_ENC_UDP_DST_PORT])));
  get_masked(tb, kEncTos, w);
  get_masked(tb, kEncTtl, w);
  if (tb[TCA_FLOWER_ACT]) decode_actions(tb[TCA_FLOWER_ACT], w);
}

}  // namespace

extern const FilterKind flower_filter = {"flower", encode, decode, nullptr};

}  // namespace netqos
