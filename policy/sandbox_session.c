/*
 * What a session process may do once confined: talk over the descriptors it
 * was given, manage its own memory and time, and nothing else.  No file can
 * be opened (openat and stat probes fail with EACCES), no socket created or
 * connected, no process created or signalled, no program executed, no
 * memory made executable.  The list was taken from strace of the full test
 * suite, plaintext and TLS, normal and sanitizer builds.
 */
#include <stddef.h>

#include "sandbox_policy.h"

const struct sb_rule sandbox_session_rules[] = {
	/* client socket, channels, the message descriptors from storaged */
	{ "read", SB_ALLOW, SB_ANY },
	{ "write", SB_ALLOW, SB_ANY },		/* client, stderr */
	{ "readv", SB_ALLOW, SB_ANY },
	{ "writev", SB_ALLOW, SB_ANY },
	{ "recvfrom", SB_ALLOW, SB_ANY },	/* recv() */
	{ "sendto", SB_ALLOW, SB_ANY },		/* send() */
	{ "recvmsg", SB_ALLOW, SB_ANY },	/* IPC with SCM_RIGHTS */
	{ "sendmsg", SB_ALLOW, SB_ANY },
	{ "poll", SB_ALLOW, SB_ANY },
	{ "ppoll", SB_ALLOW, SB_ANY },
	{ "close", SB_ALLOW, SB_ANY },
	{ "shutdown", SB_ALLOW, SB_ANY },
	{ "fcntl", SB_ALLOW, SB_FD_FLAGS },		/* O_NONBLOCK on the client */
	{ "lseek", SB_ALLOW, SB_ANY },		/* stdio on stderr */
	/* sleeping, threads and OpenSSL's first use (memory, clock and
	 * randomness come from sandbox_base.c) */
	{ "clock_nanosleep", SB_ALLOW, SB_ANY },
	{ "nanosleep", SB_ALLOW, SB_ANY },
	{ "gettid", SB_ALLOW, SB_ANY },
	{ "sysinfo", SB_ALLOW, SB_ANY },	/* OpenSSL first use */
	{ "sched_yield", SB_ALLOW, SB_ANY },
	/* probes by libc and OpenSSL (openssl.cnf): fail softly */
	{ "open", SB_EACCES, SB_ANY },
	{ "openat", SB_EACCES, SB_ANY },
	{ "stat", SB_EACCES, SB_ANY },
	{ "fstat", SB_EACCES, SB_ANY },
	{ "newfstatat", SB_EACCES, SB_ANY },
	{ "statx", SB_EACCES, SB_ANY },
	{ "readlink", SB_EACCES, SB_ANY },
	{ NULL, SB_ALLOW, SB_ANY }
};
