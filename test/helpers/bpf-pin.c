// Test helper: loads a two-instruction eBPF program ("r0 = VALUE; exit") of the tc classifier or
// action type and pins it at PATH (on a bpffs mount), for the tests and fixture captures of the
// bpf classifier and action. netqos itself never loads programs: it attaches loaded ones.
//
//   bpf-pin cls|act VALUE PATH
//
// A classifier in direct-action mode returns a verdict (0 ok, 2 drop); otherwise -1 selects the
// filter's classid. Built by the tests with the system compiler (no libbpf, no clang).
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr* attr) { return syscall(__NR_bpf, cmd, attr, sizeof *attr); }

int main(int argc, char** argv) {
  if (argc != 4 || (strcmp(argv[1], "cls") && strcmp(argv[1], "act"))) {
    fprintf(stderr, "usage: bpf-pin cls|act VALUE PATH\n");
    return 2;
  }
  int32_t value = (int32_t)strtol(argv[2], NULL, 0);
  struct bpf_insn insns[2];
  memset(insns, 0, sizeof insns);
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = value
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = value;
  insns[1].code = BPF_JMP | BPF_EXIT;
  char log[4096] = "";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = strcmp(argv[1], "cls") == 0 ? BPF_PROG_TYPE_SCHED_CLS : BPF_PROG_TYPE_SCHED_ACT;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = 2;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = sizeof log;
  attr.log_level = 1;
  strncpy(attr.prog_name, "nq_verdict", sizeof attr.prog_name - 1);
  int fd = (int)bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0) {
    fprintf(stderr, "bpf-pin: BPF_PROG_LOAD: %s\n%s\n", strerror(errno), log);
    return 1;
  }
  memset(&attr, 0, sizeof attr);
  attr.pathname = (uint64_t)(uintptr_t)argv[3];
  attr.bpf_fd = (uint32_t)fd;
  if (bpf(BPF_OBJ_PIN, &attr) < 0) {
    fprintf(stderr, "bpf-pin: BPF_OBJ_PIN %s: %s\n", argv[3], strerror(errno));
    return 1;
  }
  return 0;
}
