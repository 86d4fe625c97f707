// Families, names, attributes in network order, registers and comments: what every nf_tables
// object and expression file shares.
#include <arpa/inet.h>
#include <linux/netfilter.h>

#include <cstring>

#include "nft/nft.h"

namespace netqos::nft {

int nft_msg(uint16_t nlmsg_type) {
  if ((nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) return -1;
  return nlmsg_type & 0xff;
}

const char* verb_name(Verb v) {
  switch (v) {
    case Verb::Add:
      return "add";
    case Verb::Create:
      return "create";
    case Verb::Insert:
      return "insert";
    case Verb::Replace:
      return "replace";
    case Verb::Delete:
      return "delete";
    case Verb::Destroy:
      return "destroy";
    case Verb::Flush:
      return "flush";
  }
  return "?";
}

namespace {

struct FamilyName {
  const char* name;
  uint8_t value;
};
const FamilyName kFamilies[] = {{"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6},      {"inet", NFPROTO_INET},
                                {"arp", NFPROTO_ARP}, {"bridge", NFPROTO_BRIDGE}, {"netdev", NFPROTO_NETDEV}};

}  // namespace

uint8_t read_family(const FieldReader& r) {
  auto s = r.string("family");
  if (!s) r.fail("family", "is required (ip, ip6, inet, arp, bridge or netdev)");
  for (const auto& f : kFamilies)
    if (*s == f.name) return f.value;
  r.fail("family", quote(*s) + " is not a family (allowed: ip, ip6, inet, arp, bridge, netdev)");
}

std::string family_name(uint8_t family) {
  for (const auto& f : kFamilies)
    if (family == f.value) return f.name;
  return std::to_string(family);
}

std::string read_name(const FieldReader& r, const char* field) {
  auto s = r.string(field);
  if (!s) r.fail(field, "is required (a name of 1..255 bytes)");
  if (s->empty() || s->size() >= NFT_NAME_MAXLEN || std::memchr(s->data(), 0, s->size()))
    r.fail(field, quote(*s) + " is not a name (1..255 bytes, no NUL)");
  return *s;
}

Message begin_message(NftBatch& b, uint16_t nft_msg, uint16_t flags, uint8_t family) {
  if (b.echo && nft_msg != NFT_MSG_GETGEN) flags |= NLM_F_ECHO;
  Message m(b.batch, msg_type(nft_msg), flags);
  auto* nfg = static_cast<nfgenmsg*>(m.put_extra_header(sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return m;
}

void put_be32(Message& m, uint16_t type, uint32_t v) { m.put_u32(type, htonl(v)); }

void put_be64(Message& m, uint16_t type, uint64_t v) {
  uint32_t halves[2] = {htonl(static_cast<uint32_t>(v >> 32)), htonl(static_cast<uint32_t>(v))};
  m.put(type, halves, sizeof halves);
}

nlattr* nest(Message& m, uint16_t type) { return m.nest_start(type | NLA_F_NESTED); }

uint32_t be32(const nlattr* a) {
  if (!a || mnl_attr_get_payload_len(a) < 4) return 0;
  uint32_t v;
  std::memcpy(&v, mnl_attr_get_payload(a), 4);
  return ntohl(v);
}

uint64_t be64(const nlattr* a) {
  if (!a || mnl_attr_get_payload_len(a) < 8) return 0;
  uint32_t halves[2];
  std::memcpy(halves, mnl_attr_get_payload(a), 8);
  return static_cast<uint64_t>(ntohl(halves[0])) << 32 | ntohl(halves[1]);
}

std::string attr_string(const nlattr* a) { return a ? attr_str(a) : ""; }

void append_comment(std::vector<uint8_t>& udata, uint8_t udata_type, const FieldReader& r) {
  auto comment = r.string("comment");
  if (!comment) return;
  // nft's limit: 128 bytes of comment (NFT_USERDATA_MAXLEN 256 holds the TLVs).
  if (comment->empty() || comment->size() > 128 || std::memchr(comment->data(), 0, comment->size()))
    r.fail("comment", "must be 1..128 bytes without NUL");
  udata.push_back(udata_type);
  udata.push_back(static_cast<uint8_t>(comment->size() + 1));
  udata.insert(udata.end(), comment->begin(), comment->end());
  udata.push_back(0);
}

void put_comment(Message& m, uint16_t attr, uint8_t udata_type, const FieldReader& r) {
  std::vector<uint8_t> udata;
  append_comment(udata, udata_type, r);
  if (!udata.empty()) m.put(attr, udata.data(), udata.size());
}

std::optional<std::string> udata_comment(const nlattr* userdata, uint8_t udata_type) {
  if (!userdata) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(userdata));
  size_t len = mnl_attr_get_payload_len(userdata);
  for (size_t i = 0; i + 2 <= len;) {
    uint8_t type = p[i], n = p[i + 1];
    if (i + 2 + n > len) break;
    if (type == udata_type && n > 0) {
      const char* s = reinterpret_cast<const char*>(p + i + 2);
      return std::string(s, strnlen(s, n));
    }
    i += 2 + n;
  }
  return std::nullopt;
}

uint32_t read_register(const FieldReader& r, const char* field, bool allow_verdict) {
  auto v = r.u64(field);
  if (!v) r.fail(field, "is required (a register: 1..4, or 8..23 for 32-bit registers)");
  if ((*v == 0 && allow_verdict) || (*v >= NFT_REG_1 && *v <= NFT_REG_4) ||
      (*v >= NFT_REG32_00 && *v <= NFT_REG32_15))
    return static_cast<uint32_t>(*v);
  r.fail(field, std::to_string(*v) + " is not a register (allowed: " +
                    (allow_verdict ? "0 (verdict), " : "") + "1..4, 8..23)");
}

void put_register(Message& m, uint16_t type, const FieldReader& r, const char* field, uint32_t fallback,
                  bool allow_verdict) {
  put_be32(m, type, r.has(field) ? read_register(r, field, allow_verdict) : fallback);
}

void parse_message(const nlmsghdr* nlh, const nlattr** tb, uint16_t max) {
  size_t head = NLMSG_ALIGN(sizeof(nfgenmsg));
  size_t len = mnl_nlmsg_get_payload_len(nlh);
  if (len < head) {
    std::memset(tb, 0, sizeof(nlattr*) * (max + 1));
    return;
  }
  parse_payload(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) + head, len - head, tb, max);
}

uint8_t message_family(const nlmsghdr* nlh) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return 0;
  return static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family;
}

}  // namespace netqos::nft
