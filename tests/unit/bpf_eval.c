/*
 * The classic-BPF interpreter behind tests/unit/test_sandbox_bpf.c: it reads
 * back the program libseccomp exports for a filter and runs it over a
 * seccomp_data as the kernel would, for the opcodes libseccomp emits (loads
 * of aligned seccomp_data words, scratch memory, AND, forward jumps,
 * returns).  Anything else, a bad load or jump, or running off the end is
 * an error, never a guess.  It also resolves syscall names per ABI, names
 * the return values for the golden table, and runs programs whose answers
 * are known (bpf_self_test()).
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/audit.h>

#include "bpf_eval.h"

#define MAX_PROG	4096	/* BPF_MAXINSNS */

static char last_error[64];	/* why bpf_run() last failed */

const struct bpf_abi bpf_abis[3] = {
	{ "x86_64", AUDIT_ARCH_X86_64, SCMP_ARCH_X86_64 },
	{ "i386", AUDIT_ARCH_I386, SCMP_ARCH_X86 },
	{ "x32", AUDIT_ARCH_X86_64, SCMP_ARCH_X32 },
};

/* ---- the program, exported without loading ---- */

/* Reads the exported program back; a short or odd-sized export fails. */
static int
read_prog(int fd, struct bpf_prog *p)
{
	off_t size = lseek(fd, 0, SEEK_END);

	if (size <= 0 || size % sizeof(struct sock_filter) != 0 ||
	    size > (off_t)(MAX_PROG * sizeof(struct sock_filter)))
		return -1;
	if ((p->insn = malloc(size)) == NULL)
		return -1;
	p->len = size / sizeof(struct sock_filter);
	return pread(fd, p->insn, size, 0) == size ? 0 : -1;
}

int
bpf_export(scmp_filter_ctx ctx, struct bpf_prog *p)
{
	int fd, rc;

	p->insn = NULL;
	p->len = 0;
	if ((fd = memfd_create("sandbox-bpf", MFD_CLOEXEC)) == -1)
		return -errno;
	if ((rc = seccomp_export_bpf(ctx, fd)) == 0 && read_prog(fd, p) == -1)
		rc = -EIO;
	close(fd);
	if (rc != 0)
		bpf_free(p);
	return rc;
}

void
bpf_free(struct bpf_prog *p)
{
	free(p->insn);
	p->insn = NULL;
	p->len = 0;
}

/* ---- the interpreter ---- */

/* What seccomp allows a filter to load: aligned words of seccomp_data. */
static int
load_word(const struct seccomp_data *sd, uint32_t off, uint32_t *a)
{
	if (off % 4 != 0 || off > sizeof(*sd) - 4)
		return -1;
	memcpy(a, (const char *)sd + off, 4);
	return 0;
}

static int
jump_taken(uint16_t code, uint32_t a, uint32_t k)
{
	switch (BPF_OP(code)) {
	case BPF_JEQ:
		return a == k;
	case BPF_JGT:
		return a > k;
	case BPF_JGE:
		return a >= k;
	default:			/* BPF_JSET */
		return (a & k) != 0;
	}
}

/* The opcodes this interpreter runs; libseccomp 2.5 emits a subset. */
static int
known_opcode(uint16_t code)
{
	switch (code) {
	case BPF_LD | BPF_W | BPF_ABS:
	case BPF_LD | BPF_IMM:
	case BPF_LD | BPF_MEM:
	case BPF_LDX | BPF_IMM:
	case BPF_LDX | BPF_MEM:
	case BPF_ST:
	case BPF_STX:
	case BPF_ALU | BPF_AND | BPF_K:
	case BPF_JMP | BPF_JA:
	case BPF_JMP | BPF_JEQ | BPF_K:
	case BPF_JMP | BPF_JGT | BPF_K:
	case BPF_JMP | BPF_JGE | BPF_K:
	case BPF_JMP | BPF_JSET | BPF_K:
	case BPF_RET | BPF_K:
		return 1;
	default:
		return 0;
	}
}

int
bpf_opcodes_known(const struct bpf_prog *p, size_t *bad)
{
	size_t i;

	for (i = 0; i < p->len; i++)
		if (!known_opcode(p->insn[i].code)) {
			*bad = i;
			return 0;
		}
	return 1;
}

struct vm {
	uint32_t	a, x, mem[BPF_MEMWORDS];
};

/* One non-jump, non-return instruction; -1 when it is not valid. */
static int
step(struct vm *vm, const struct sock_filter *f, const struct seccomp_data *sd)
{
	int memop = f->code == (BPF_LD | BPF_MEM) ||
	    f->code == (BPF_LDX | BPF_MEM) || f->code == BPF_ST ||
	    f->code == BPF_STX;

	if (memop && f->k >= BPF_MEMWORDS)
		return -1;
	switch (f->code) {
	case BPF_LD | BPF_W | BPF_ABS:
		return load_word(sd, f->k, &vm->a);
	case BPF_LD | BPF_IMM:	vm->a = f->k; break;
	case BPF_LD | BPF_MEM:	vm->a = vm->mem[f->k]; break;
	case BPF_LDX | BPF_IMM:	vm->x = f->k; break;
	case BPF_LDX | BPF_MEM:	vm->x = vm->mem[f->k]; break;
	case BPF_ST:		vm->mem[f->k] = vm->a; break;
	case BPF_STX:		vm->mem[f->k] = vm->x; break;
	case BPF_ALU | BPF_AND | BPF_K: vm->a &= f->k; break;
	default:
		return -1;
	}
	return 0;
}

/*
 * Runs the program over sd as the kernel would; jumps only go forward, so
 * it ends.  Returns -1 (saying why in bpf_last_error()) for an unknown
 * opcode, a bad load or jump, or running off the end.
 */
int
bpf_run(const struct bpf_prog *p, const struct seccomp_data *sd,
    uint32_t *ret)
{
	struct vm vm = { 0, 0, { 0 } };
	const struct sock_filter *f;
	size_t pc, off;

	for (pc = 0; pc < p->len; pc++) {
		f = &p->insn[pc];
		if (!known_opcode(f->code))
			break;
		if (f->code == (BPF_RET | BPF_K)) {
			*ret = f->k;
			return 0;
		}
		if (BPF_CLASS(f->code) != BPF_JMP) {
			if (step(&vm, f, sd) == -1)
				break;
			continue;
		}
		off = f->code == (BPF_JMP | BPF_JA) ? f->k :
		    jump_taken(f->code, vm.a, f->k) ? f->jt : f->jf;
		if (off >= p->len - pc - 1)
			break;
		pc += off;
	}
	if (pc < p->len)
		snprintf(last_error, sizeof(last_error), "bad instruction at "
		    "%zu (code 0x%04x)", pc, p->insn[pc].code);
	else
		snprintf(last_error, sizeof(last_error), "no return");
	return -1;
}

int
bpf_call(const struct bpf_prog *p, const struct bpf_abi *abi, int nr,
    const uint64_t args[6], uint32_t *ret)
{
	struct seccomp_data sd;

	memset(&sd, 0, sizeof(sd));
	sd.nr = nr;
	sd.arch = abi->audit_arch;
	memcpy(sd.args, args, sizeof(sd.args));
	return bpf_run(p, &sd, ret);
}

const char *
bpf_last_error(void)
{
	return last_error;
}

/* ---- system calls and ABIs ---- */

const struct bpf_abi *
bpf_abi_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(bpf_abis) / sizeof(bpf_abis[0]); i++)
		if (strcmp(name, bpf_abis[i].name) == 0)
			return &bpf_abis[i];
	return NULL;
}

int
bpf_syscall_nr(const struct bpf_abi *abi, const char *sys, int *nr)
{
	char *end;
	long n;

	if (sys[0] >= '0' && sys[0] <= '9') {
		n = strtol(sys, &end, 0);
		*nr = (int)n;
		return *end == '\0' && n >= 0 && n <= INT32_MAX ? 0 : -1;
	}
	*nr = seccomp_syscall_resolve_name_arch(abi->scmp_arch, sys);
	return *nr == __NR_SCMP_ERROR ? -1 : 0;
}

/* ---- the names of its answers ---- */

static const struct errname {
	int		 n;
	const char	*name;
} errnames[] = {
	{ EACCES, "EACCES" }, { EPERM, "EPERM" }, { ENOSYS, "ENOSYS" },
	{ ENOENT, "ENOENT" },
};

static const struct actname {
	uint32_t	 ret;
	const char	*name;
} actnames[] = {
	{ SECCOMP_RET_ALLOW, "ALLOW" },
	{ SECCOMP_RET_KILL_PROCESS, "KILL_PROCESS" },
	{ SECCOMP_RET_KILL_THREAD, "KILL_THREAD" },
	{ SECCOMP_RET_TRAP, "TRAP" },
	{ SECCOMP_RET_LOG, "LOG" },
};

/* The golden table's name for a return value. */
void
bpf_action_str(uint32_t ret, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(actnames) / sizeof(actnames[0]); i++)
		if (ret == actnames[i].ret) {
			snprintf(buf, len, "%s", actnames[i].name);
			return;
		}
	if ((ret & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ERRNO) {
		snprintf(buf, len, "RET(0x%08x)", ret);
		return;
	}
	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if ((ret & SECCOMP_RET_DATA) == (uint32_t)errnames[i].n) {
			snprintf(buf, len, "ERRNO(%s)", errnames[i].name);
			return;
		}
	snprintf(buf, len, "ERRNO(%u)", ret & SECCOMP_RET_DATA);
}

/* The inverse of bpf_action_str(); ERRNO also takes a number. */
int
bpf_action_parse(const char *s, uint32_t *ret)
{
	char name[16], end;
	unsigned int n;
	size_t i;

	for (i = 0; i < sizeof(actnames) / sizeof(actnames[0]); i++)
		if (strcmp(s, actnames[i].name) == 0) {
			*ret = actnames[i].ret;
			return 0;
		}
	if (sscanf(s, "ERRNO(%u%c", &n, &end) == 2 && end == ')' &&
	    n <= SECCOMP_RET_DATA && strchr(s, ')')[1] == '\0') {
		*ret = SECCOMP_RET_ERRNO | n;
		return 0;
	}
	if (sscanf(s, "ERRNO(%15[A-Z]%c", name, &end) != 2 || end != ')' ||
	    strchr(s, ')')[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strcmp(name, errnames[i].name) == 0) {
			*ret = SECCOMP_RET_ERRNO | errnames[i].n;
			return 0;
		}
	return -1;
}

/* ---- the interpreter's own test ---- */

/* Runs a hand-written program; -1 when bpf_run() refuses it. */
static int64_t
run_insns(const struct sock_filter *insn, size_t len, int nr)
{
	struct bpf_prog p = { (struct sock_filter *)insn, len };
	struct seccomp_data sd;
	uint32_t ret;

	memset(&sd, 0, sizeof(sd));
	sd.nr = nr;
	return bpf_run(&p, &sd, &ret) == -1 ? -1 : (int64_t)ret;
}

#define SELF_CHECK(cond) do {						\
	if (cond)							\
		(*passed)++;						\
	else {								\
		(*failed)++;						\
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__,	\
		    #cond);						\
	}								\
} while (0)

void
bpf_self_test(int *passed, int *failed)
{
	const struct sock_filter scratch[] = {	/* (5 & 4) via mem, X */
		BPF_STMT(BPF_LD | BPF_IMM, 5),
		BPF_STMT(BPF_ST, 3),
		BPF_STMT(BPF_LDX | BPF_MEM, 3),
		BPF_STMT(BPF_STX, 4),
		BPF_STMT(BPF_LD | BPF_MEM, 4),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 4),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 4, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 1),
		BPF_STMT(BPF_RET | BPF_K, 2),
	}, compare[] = {		/* nr > 10 ? 3 : nr >= 5 ? 4 : 5 */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 10, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 3),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 5, 1, 0),
		BPF_STMT(BPF_JMP | BPF_JA, 1),
		BPF_STMT(BPF_RET | BPF_K, 4),
		BPF_STMT(BPF_RET | BPF_K, 5),
	}, unknown[] = {
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
	}, unaligned[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2),
		BPF_STMT(BPF_RET | BPF_K, 0),
	}, far[] = {
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
	}, no_ret[] = {
		BPF_STMT(BPF_LD | BPF_IMM, 0),
	};

	SELF_CHECK(run_insns(scratch, 9, 0) == 1);
	SELF_CHECK(run_insns(compare, 7, 11) == 3);
	SELF_CHECK(run_insns(compare, 7, 5) == 4);
	SELF_CHECK(run_insns(compare, 7, 4) == 5);
	SELF_CHECK(run_insns(unknown, 2, 0) == -1);
	SELF_CHECK(run_insns(unaligned, 2, 0) == -1);
	SELF_CHECK(run_insns(far, 2, 0) == -1);
	SELF_CHECK(run_insns(no_ret, 1, 0) == -1);
}
