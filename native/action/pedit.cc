// pedit: the packet editor, in extended mode (TCA_PEDIT_PARMS_EX + TCA_PEDIT_KEYS_EX) as tc's
// "pedit ex munge ..." sends it. Each key edits one 32-bit word at `offset` of the chosen header:
// word = (word & mask) ^ value for "set". `value` and `mask` are given as the word reads in
// network byte order (0x00B80000 is the second byte of the word), and go out as tc's pack_key
// writes them, through htonl.
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_pedit.h>

#include <cstring>
#include <vector>

#include "registry.h"

namespace netqos {

namespace {

constexpr size_t kMaxKeys = 128;  // tc's MAX_OFFS

struct Name {
  const char* name;
  uint16_t value;
};
const Name kHeaderTypes[] = {
    {"network", TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK}, {"eth", TCA_PEDIT_KEY_EX_HDR_TYPE_ETH},
    {"ipv4", TCA_PEDIT_KEY_EX_HDR_TYPE_IP4},        {"ipv6", TCA_PEDIT_KEY_EX_HDR_TYPE_IP6},
    {"tcp", TCA_PEDIT_KEY_EX_HDR_TYPE_TCP},         {"udp", TCA_PEDIT_KEY_EX_HDR_TYPE_UDP},
};
const Name kCommands[] = {{"set", TCA_PEDIT_KEY_EX_CMD_SET}, {"add", TCA_PEDIT_KEY_EX_CMD_ADD}};

template <size_t N>
uint16_t read_name(const FieldReader& r, const char* field, const Name (&table)[N], const char* fallback) {
  auto s = r.string(field);
  if (!s) {
    if (!fallback) r.fail(field, "is required");
    s = fallback;
  }
  std::string allowed;
  for (const auto& n : table) {
    if (*s == n.name) return n.value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(n.name);
  }
  r.fail(field, quote(*s) + " is not allowed (allowed: " + allowed + ")");
}

template <size_t N>
void write_name(FieldWriter& w, const char* field, const Name (&table)[N], uint16_t value) {
  for (const auto& n : table)
    if (n.value == value) return w.set_string(field, n.name);
  w.set_u64(field, value);
}

struct KeyEx {
  uint16_t htype;
  uint16_t cmd;
};

void encode(Message& m, const FieldReader& r) {
  size_t n = r.array_length("keys");
  if (n == 0) r.fail("keys", "is required (at least one { htype, offset, value, mask } edit)");
  if (n > kMaxKeys)
    r.fail("keys", "has " + std::to_string(n) + " keys (at most " + std::to_string(kMaxKeys) + ")");

  std::vector<uint8_t> parms(sizeof(tc_pedit_sel) + n * sizeof(tc_pedit_key));
  tc_pedit_sel sel;
  std::memset(&sel, 0, sizeof sel);
  sel.index = static_cast<uint32_t>(r.u64_in("index", 0, 0xFFFFFFFFu, 0));
  sel.action = parse_control(r, "control", TC_ACT_OK);  // tc's default
  sel.nkeys = static_cast<unsigned char>(n);
  std::memcpy(parms.data(), &sel, sizeof sel);

  std::vector<KeyEx> ex(n);
  for (size_t i = 0; i < n; i++) {
    auto k = r.element("keys", i);
    ex[i].htype = read_name(*k, "htype", kHeaderTypes, nullptr);
    ex[i].cmd = read_name(*k, "cmd", kCommands, "set");
    auto off = k->i64("offset");
    if (!off) k->fail("offset", "is required (bytes from the start of the header, a multiple of 4)");
    if (*off < INT32_MIN || *off > INT32_MAX) k->fail("offset", std::to_string(*off) + " is out of range");
    if (*off % 4)
      k->fail("offset", std::to_string(*off) + " must be a multiple of 4 (the kernel edits 32-bit words)");
    if (!k->has("value")) k->fail("value", "is required (the 32-bit word to set or add, e.g. 0x00b80000)");
    if (!k->has("mask")) k->fail("mask", "is required (the 32-bit word of bits to keep, e.g. 0xff03ffff)");
    tc_pedit_key key;
    std::memset(&key, 0, sizeof key);
    key.val = htonl(static_cast<uint32_t>(k->u64_in("value", 0, 0xFFFFFFFFu, 0)));
    key.mask = htonl(static_cast<uint32_t>(k->u64_in("mask", 0, 0xFFFFFFFFu, 0)));
    key.off = static_cast<uint32_t>(static_cast<int32_t>(*off));
    // Optional offset taken from the packet: off += (byte at `at` & offmask) >> shift.
    key.at = static_cast<uint32_t>(k->u64_in("at", 0, 0xFFFFFFFFu, 0));
    key.offmask = static_cast<uint32_t>(k->u64_in("offmask", 0, 0xFFFFFFFFu, 0));
    key.shift = static_cast<uint32_t>(k->u64_in("shift", 0, 31, 0));
    std::memcpy(parms.data() + sizeof sel + i * sizeof key, &key, sizeof key);
  }

  m.put(TCA_PEDIT_PARMS_EX, parms.data(), parms.size());
  nlattr* keys = m.nest_start(TCA_PEDIT_KEYS_EX | NLA_F_NESTED);
  for (const KeyEx& e : ex) {
    nlattr* key = m.nest_start(TCA_PEDIT_KEY_EX | NLA_F_NESTED);
    m.put_u16(TCA_PEDIT_KEY_EX_HTYPE, e.htype);
    m.put_u16(TCA_PEDIT_KEY_EX_CMD, e.cmd);
    m.nest_end(key);
  }
  m.nest_end(keys);
}

void decode(const nlattr* options, FieldWriter& w) {
  if (!options) return;
  const nlattr* tb[TCA_PEDIT_MAX + 1];
  parse_nested(options, tb, TCA_PEDIT_MAX);
  // The kernel dumps PARMS_EX with KEYS_EX for actions made in extended mode, PARMS otherwise.
  const nlattr* parms = tb[TCA_PEDIT_PARMS_EX] ? tb[TCA_PEDIT_PARMS_EX] : tb[TCA_PEDIT_PARMS];
  if (!parms || mnl_attr_get_payload_len(parms) < sizeof(tc_pedit_sel)) return;
  const auto* data = static_cast<const uint8_t*>(mnl_attr_get_payload(parms));
  tc_pedit_sel sel;
  std::memcpy(&sel, data, sizeof sel);
  size_t room = (mnl_attr_get_payload_len(parms) - sizeof sel) / sizeof(tc_pedit_key);
  size_t n = sel.nkeys < room ? sel.nkeys : room;

  std::vector<KeyEx> ex(n, KeyEx{TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK, TCA_PEDIT_KEY_EX_CMD_SET});
  if (parms == tb[TCA_PEDIT_PARMS_EX] && tb[TCA_PEDIT_KEYS_EX]) {
    size_t i = 0;
    for_each_nested(tb[TCA_PEDIT_KEYS_EX], [&](const nlattr* key) {
      if (mnl_attr_get_type(key) != TCA_PEDIT_KEY_EX || i >= n) return;
      const nlattr* kt[TCA_PEDIT_KEY_EX_MAX + 1];
      parse_nested(key, kt, TCA_PEDIT_KEY_EX_MAX);
      if (kt[TCA_PEDIT_KEY_EX_HTYPE]) ex[i].htype = attr_u16(kt[TCA_PEDIT_KEY_EX_HTYPE]);
      if (kt[TCA_PEDIT_KEY_EX_CMD]) ex[i].cmd = attr_u16(kt[TCA_PEDIT_KEY_EX_CMD]);
      i++;
    });
  }

  for (size_t i = 0; i < n; i++) {
    tc_pedit_key key;
    std::memcpy(&key, data + sizeof sel + i * sizeof key, sizeof key);
    auto k = w.append("keys");
    write_name(*k, "htype", kHeaderTypes, ex[i].htype);
    write_name(*k, "cmd", kCommands, ex[i].cmd);
    k->set_i64("offset", static_cast<int32_t>(key.off));
    k->set_u64("value", ntohl(key.val));
    k->set_u64("mask", ntohl(key.mask));
    if (key.at) k->set_u64("at", key.at);
    if (key.offmask) k->set_u64("offmask", key.offmask);
    if (key.shift) k->set_u64("shift", key.shift);
  }
  w.set_string("control", control_name(sel.action));
  w.set_u64("index", sel.index);
}

}  // namespace

extern const ActionKind pedit_action = {"pedit", encode, decode};

}  // namespace netqos
