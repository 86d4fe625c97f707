// The BPF program of the bpf classifier and the bpf action: classic BPF instructions carried in
// the message, or an eBPF program given by descriptor, by pinned path (opened here, closed once
// the batch is sent) or by id (as a read-back names it), as iproute2's bpf_legacy.c sends them.
#pragma once

#include <linux/netlink.h>

#include <cstdint>

#include "fields.h"
#include "message.h"

namespace netqos {

// The attribute types of one kind (cls_bpf's TCA_BPF_*, act_bpf's TCA_ACT_BPF_*).
struct BpfAttrs {
  uint16_t ops_len, ops, fd, name, id, tag;
};

// r's "program" ({ bytecode } | { fd } | { pinned } | { id }) and "name" as tc sends them.
void put_bpf_program(Message& m, const FieldReader& r, const BpfAttrs& a);
// The program as read back: "program" { bytecode } or { id, tag }, and "name".
void get_bpf_program(const nlattr* const* tb, const BpfAttrs& a, FieldWriter& w);

}  // namespace netqos
