/*
 * What every confined role may do whatever its job: manage its own memory
 * (never making it executable), read the clock, draw randomness, use the
 * locks libc and OpenSSL take, resume and return from signals, and exit.
 * The seccomp backend adds this list to each role's own list in policy/.
 */
#include <stddef.h>

#include "sandbox_policy.h"

const struct sb_rule sandbox_base_rules[] = {
	{ "brk", SB_ALLOW, SB_ANY },
	{ "mmap", SB_ALLOW, SB_ANON_NO_EXEC },	/* no files mapped */
	{ "mprotect", SB_ALLOW, SB_NO_EXEC },
	{ "munmap", SB_ALLOW, SB_ANY },
	{ "mremap", SB_ALLOW, SB_ANY },
	{ "madvise", SB_ALLOW, SB_ANY },
	{ "clock_gettime", SB_ALLOW, SB_ANY },
	{ "gettimeofday", SB_ALLOW, SB_ANY },
	{ "getrandom", SB_ALLOW, SB_ANY },	/* libsodium, OpenSSL */
	{ "getpid", SB_ALLOW, SB_ANY },		/* OpenSSL fork detection */
	{ "futex", SB_ALLOW, SB_ANY },
	/* malloc sizes its arenas by the CPUs it may run on, in whichever
	 * thread first needs one (else it reads /sys, which we refuse) */
	{ "sched_getaffinity", SB_ALLOW, SB_ANY },
	/* a poll() or sleep interrupted by a signal resumes through this */
	{ "restart_syscall", SB_ALLOW, SB_ANY },
	{ "rt_sigreturn", SB_ALLOW, SB_ANY },
	{ "rt_sigprocmask", SB_ALLOW, SB_ANY },
	{ "exit", SB_ALLOW, SB_ANY },
	{ "exit_group", SB_ALLOW, SB_ANY },
#ifdef POP3D_SANITIZE
	/* only in the ASan/UBSan build: the runtime's exit path */
	{ "sigaltstack", SB_ALLOW, SB_ANY },
#endif
	{ NULL, SB_ALLOW, SB_ANY }
};
