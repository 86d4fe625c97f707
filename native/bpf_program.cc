#include "bpf_program.h"

#include <libmnl/libmnl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "tc_util.h"

namespace netqos {

namespace {

long bpf(int cmd, bpf_attr& attr) { return syscall(__NR_bpf, cmd, &attr, sizeof attr); }

[[noreturn]] void fail_errno(const FieldReader& p, const char* field, const std::string& what) {
  p.fail(field, what + ": " + std::strerror(errno));
}

}  // namespace

void put_bpf_program(Message& m, const FieldReader& r, const BpfAttrs& a) {
  auto p = r.object("program");
  if (!p) r.fail("program", "is required ({ fd }, { pinned }, { id } or { bytecode })");
  int given = p->has("fd") + p->has("pinned") + p->has("id") + p->has("bytecode");
  if (given != 1) p->fail("give exactly one of fd, pinned, id or bytecode");
  auto name = r.string("name");
  if (p->has("bytecode")) {
    size_t n = p->array_length("bytecode");
    if (n == 0 || n > BPF_MAXINSNS)
      p->fail("bytecode", "must hold 1.." + std::to_string(BPF_MAXINSNS) + " instructions");
    std::vector<sock_filter> ops(n);
    for (size_t i = 0; i < n; i++) {
      // Each instruction is [code, jt, jf, k], as tc's "bytecode" lists them.
      auto insn = p->element("bytecode", i);
      ops[i].code = static_cast<uint16_t>(insn->u64_in("code", 0, 0xFFFF, 0));
      ops[i].jt = static_cast<uint8_t>(insn->u64_in("jt", 0, 0xFF, 0));
      ops[i].jf = static_cast<uint8_t>(insn->u64_in("jf", 0, 0xFF, 0));
      ops[i].k = static_cast<uint32_t>(insn->u64_in("k", 0, 0xFFFFFFFFu, 0));
    }
    m.put_u16(a.ops_len, static_cast<uint16_t>(n));
    m.put(a.ops, ops.data(), n * sizeof(sock_filter));
    return;
  }
  int fd = -1;
  std::string annotation = name.value_or("");
  if (p->has("fd")) {
    fd = static_cast<int>(p->u64_in("fd", 0, 0x7FFFFFFF, 0));
  } else if (auto path = p->string("pinned")) {
    bpf_attr attr{};
    attr.pathname = reinterpret_cast<uint64_t>(path->c_str());
    fd = static_cast<int>(bpf(BPF_OBJ_GET, attr));
    if (fd < 0) fail_errno(*p, "pinned", quote(*path) + " cannot be opened as a BPF object");
    m.own_fd(UniqueFd(fd));
    // tc's annotation for a pinned program: the file's name and "[*fsobj]".
    if (!name) annotation = path->substr(path->rfind('/') + 1) + ":[*fsobj]";
  } else {
    uint64_t id = p->u64_in("id", 1, 0xFFFFFFFFu, 0);
    bpf_attr attr{};
    attr.prog_id = static_cast<uint32_t>(id);
    fd = static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, attr));
    if (fd < 0) fail_errno(*p, "id", "program " + std::to_string(id) + " cannot be opened");
    m.own_fd(UniqueFd(fd));
  }
  m.put_u32(a.fd, static_cast<uint32_t>(fd));
  if (!annotation.empty()) m.put_strz(a.name, annotation);
}

void get_bpf_program(const nlattr* const* tb, const BpfAttrs& a, FieldWriter& w) {
  if (tb[a.ops] && tb[a.ops_len]) {
    size_t n =
        std::min<size_t>(attr_u16(tb[a.ops_len]), mnl_attr_get_payload_len(tb[a.ops]) / sizeof(sock_filter));
    auto p = w.object("program");
    for (size_t i = 0; i < n; i++) {
      sock_filter op;
      std::memcpy(&op, static_cast<const uint8_t*>(mnl_attr_get_payload(tb[a.ops])) + i * sizeof op,
                  sizeof op);
      auto insn = p->append("bytecode");
      insn->set_u64("code", op.code);
      insn->set_u64("jt", op.jt);
      insn->set_u64("jf", op.jf);
      insn->set_u64("k", op.k);
    }
  } else if (tb[a.id] && mnl_attr_get_payload_len(tb[a.id]) >= 4) {
    auto p = w.object("program");
    p->set_u64("id", attr_u32(tb[a.id]));
    if (tb[a.tag])
      p->set_string("tag", to_hex(mnl_attr_get_payload(tb[a.tag]), mnl_attr_get_payload_len(tb[a.tag])));
  }
  if (tb[a.name]) w.set_string("name", attr_str(tb[a.name]));
}

}  // namespace netqos
