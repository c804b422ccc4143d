/*
 * A classic-BPF interpreter for seccomp programs, for the tests only: a
 * libseccomp filter is exported (never loaded) into a bpf_prog, and
 * bpf_call() computes the return value the kernel would get from it for
 * one system call (ABI, number, arguments), refusing any opcode, load or
 * jump it does not know rather than guessing.  Return values have names
 * (ALLOW, ERRNO(EACCES), ...) both ways; bpf_self_test() checks the
 * interpreter itself.
 */
#ifndef POP3D_BPF_EVAL_H
#define POP3D_BPF_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

struct bpf_prog {
	struct sock_filter	*insn;
	size_t			 len;
};

/*
 * The ABIs an x86_64 process can reach the kernel through: its own (first),
 * the i386 one (int $0x80) and x32 (the 0x40000000 bit on the syscall
 * number, which libseccomp's x32 table includes).
 */
struct bpf_abi {
	const char	*name;
	uint32_t	 audit_arch;	/* seccomp_data.arch */
	uint32_t	 scmp_arch;	/* for resolving names */
};
extern const struct bpf_abi	bpf_abis[3];

const struct bpf_abi *bpf_abi_find(const char *);
/* A syscall name resolved for the ABI, or a number ("999"); 0, or -1. */
int		 bpf_syscall_nr(const struct bpf_abi *, const char *, int *);

/* Exports ctx's program into p (free it with bpf_free()); 0, or < 0. */
int		 bpf_export(scmp_filter_ctx, struct bpf_prog *);
void		 bpf_free(struct bpf_prog *);
/* 1 if the interpreter knows every instruction, else 0 and the first. */
int		 bpf_opcodes_known(const struct bpf_prog *, size_t *);
/* Runs the program over sd: 0 and the return value, or -1. */
int		 bpf_run(const struct bpf_prog *, const struct seccomp_data *,
		    uint32_t *);
/* The same for one call: ABI, number, six arguments. */
int		 bpf_call(const struct bpf_prog *, const struct bpf_abi *, int,
		    const uint64_t[6], uint32_t *);
/* Why the last bpf_run() returned -1. */
const char	*bpf_last_error(void);
/* A return value's name, e.g. KILL_PROCESS, ERRNO(ENOSYS), and back. */
void		 bpf_action_str(uint32_t, char *, size_t);
int		 bpf_action_parse(const char *, uint32_t *);
/* The interpreter on hand-written programs; adds to the two counts. */
void		 bpf_self_test(int *, int *);

#endif
