/*
 * What authd may do once confined: answer the parent and the sessions over
 * the channels it holds (and accept new session channels from the parent),
 * hand verifications to its Argon2id workers and collect their verdicts
 * through a pipe, and re-read the users file, read-only, through the one
 * directory descriptor it opened before chroot.  It opens nothing else,
 * creates no socket, process or thread, and executes nothing.  The filter
 * is loaded into the workers too (TSYNC).  The list was taken from strace
 * of the authd and protocol suites, main thread and workers.
 */
#include <stddef.h>

#include "sandbox_policy.h"

const struct sb_rule sandbox_authd_rules[] = {
	/* the parent channel, session channels passed by the parent */
	{ "recvmsg", SB_ALLOW, SB_ANY },
	{ "sendmsg", SB_ALLOW, SB_ANY },
	{ "poll", SB_ALLOW, SB_ANY },
	{ "ppoll", SB_ALLOW, SB_ANY },
	{ "close", SB_ALLOW, SB_ANY },
	{ "fcntl", SB_ALLOW, SB_FD_FLAGS },		/* O_NONBLOCK, FD_CLOEXEC */
	/* the workers' verdict pipe; stderr */
	{ "read", SB_ALLOW, SB_ANY },
	{ "write", SB_ALLOW, SB_ANY },
	{ "writev", SB_ALLOW, SB_ANY },
	{ "lseek", SB_ALLOW, SB_ANY },		/* stdio on stderr */
	/* users file reload: stat it through the directory descriptor, open
	 * it there read-only; fstat (newfstatat with AT_EMPTY_PATH) of it */
	{ "openat", SB_ALLOW, SB_DIR_READ_ONLY },
	{ "newfstatat", SB_ALLOW, SB_ANY },
	{ "fstat", SB_ALLOW, SB_ANY },
	{ "statx", SB_ALLOW, SB_ANY },
	/* workers waiting for jobs and yielding */
	{ "gettid", SB_ALLOW, SB_ANY },
	{ "sched_yield", SB_ALLOW, SB_ANY },
	{ "clock_nanosleep", SB_ALLOW, SB_ANY },
	{ "nanosleep", SB_ALLOW, SB_ANY },
	{ NULL, SB_ALLOW, SB_ANY }
};
