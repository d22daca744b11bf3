/* The cgroup v2 device filter (see devices.h): the rules compiled into a BPF_PROG_TYPE_CGROUP_DEVICE
 * program with raw bpf(2) calls, in the shape crun and runc generate. The program reads the
 * request (type, access, major, minor) once, then tests the rules from the last to the first, so
 * the first match it finds is the rule listed last; no match returns 0 (denied). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "devices.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_IMM(dst, imm, off) INSN(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JNE_REG(dst, src, off) INSN(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers: r1 the context, then r2 type, r3 access, r4 major, r5 minor. */
static size_t prologue(struct bpf_insn *p) {
  size_t n = 0;
  p[n++] = LDX_W(2, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  p[n++] = ALU32_IMM(BPF_AND, 2, 0xffff);
  p[n++] = LDX_W(3, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  p[n++] = ALU32_IMM(BPF_RSH, 3, 16);
  p[n++] = LDX_W(4, 1, offsetof(struct bpf_cgroup_dev_ctx, major));
  p[n++] = LDX_W(5, 1, offsetof(struct bpf_cgroup_dev_ctx, minor));
  return n;
}

/* One rule: each check jumps past the block when it fails. *catch_all when nothing is checked
 * (every later instruction would be unreachable, which the verifier refuses). */
static size_t rule_block(const struct device_rule *d, struct bpf_insn *p, bool *catch_all) {
  bool type = d->type != 'a', access = d->access != DEVICE_ACCESS_ALL, major = d->major >= 0, minor = d->minor >= 0;
  size_t total = (size_t)type + 3 * (size_t)access + (size_t)major + (size_t)minor + 2, n = 0;
#define PAST_BLOCK ((short)(total - n - 1))
  if (type) {
    p[n] = JNE_IMM(2, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, PAST_BLOCK);
    n++;
  }
  if (access) {
    /* the request must lie within the rule's access: (request & rule) == request */
    p[n++] = MOV32_REG(1, 3);
    p[n++] = ALU32_IMM(BPF_AND, 1, (int32_t)d->access);
    p[n] = JNE_REG(1, 3, PAST_BLOCK);
    n++;
  }
  if (major) {
    p[n] = JNE_IMM(4, (int32_t)d->major, PAST_BLOCK);
    n++;
  }
  if (minor) {
    p[n] = JNE_IMM(5, (int32_t)d->minor, PAST_BLOCK);
    n++;
  }
#undef PAST_BLOCK
  p[n++] = MOV64_IMM(0, d->allow ? 1 : 0);
  p[n++] = EXIT();
  *catch_all = !type && !access && !major && !minor;
  return n;
}

static long bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof *attr); }

static int load(const struct bpf_insn *insns, size_t n, struct kerr *err) {
  static char log[8192];
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = (uint32_t)n;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  int fd = (int)bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0 || errno != EACCES) return fd >= 0 ? fd : kerr_set(err, errno, "load the device filter (bpf)");
  /* the verifier refused it: load again for its log, which says why */
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = sizeof log;
  attr.log_level = 1;
  log[0] = '\0';
  fd = (int)bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return fd;
  return kerr_set(err, errno, "load the device filter (bpf verifier: %.400s)", log);
}

int devices_attach_bpf(const char *dir, const struct resources_spec *r, struct kerr *err) {
  size_t count = devices_count(r);
  /* at most 9 instructions per rule, the prologue and the default */
  _cleanup_free_ struct bpf_insn *p = calloc(count * 9 + 8, sizeof *p);
  if (p == NULL) return kerr_set(err, ENOMEM, "device filter");
  size_t n = prologue(p);
  bool catch_all = false;
  for (size_t i = count; i-- > 0 && !catch_all;) n += rule_block(devices_rule(r, i), p + n, &catch_all);
  if (!catch_all) {
    p[n++] = MOV64_IMM(0, 0);
    p[n++] = EXIT();
  }
  _cleanup_close_ int prog = load(p, n, err);
  if (prog < 0) return -1;
  _cleanup_close_ int cgroup = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (cgroup < 0) return kerr_set(err, errno, "open %s", dir);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroup;
  attr.attach_bpf_fd = (uint32_t)prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr) < 0) return kerr_set(err, errno, "attach the device filter to %s", dir);
  return 0;
}
