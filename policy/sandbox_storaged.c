/*
 * What storaged may do once its mailbox is scanned and it serves requests:
 * answer over its two channels, open messages read-only to hand them over,
 * and at UPDATE unlink deleted messages, fsync cur/ and drop its lock.
 * Which files it can reach is enforced by chroot into the one mailbox and
 * the mail owner's uid, not by the filter (seccomp cannot compare paths);
 * the filter enforces that nothing is opened for writing or created, and
 * that nothing outside this list happens at all.  The list was taken from
 * strace of the storaged and protocol suites.
 */
#include <stddef.h>

#include "sandbox_policy.h"

const struct sb_rule sandbox_storaged_rules[] = {
	/* the parent and session channels */
	{ "recvmsg", SB_ALLOW, SB_ANY },
	{ "sendmsg", SB_ALLOW, SB_ANY },	/* message descriptors */
	{ "poll", SB_ALLOW, SB_ANY },
	{ "ppoll", SB_ALLOW, SB_ANY },
	{ "read", SB_ALLOW, SB_ANY },
	{ "write", SB_ALLOW, SB_ANY },		/* stderr */
	{ "writev", SB_ALLOW, SB_ANY },
	{ "close", SB_ALLOW, SB_ANY },
	{ "lseek", SB_ALLOW, SB_ANY },
	{ "fcntl", SB_ALLOW, SB_FD_FLAGS },
	/* RETR/TOP: open a message read-only, check it is the same file */
	{ "openat", SB_ALLOW, SB_READ_ONLY },
	{ "fstat", SB_ALLOW, SB_ANY },
	{ "newfstatat", SB_ALLOW, SB_ANY },
	{ "statx", SB_ALLOW, SB_ANY },
	/* UPDATE: remove deleted messages, make it durable, unlock */
	{ "unlinkat", SB_ALLOW, SB_NO_FLAGS },
	{ "fsync", SB_ALLOW, SB_ANY },
	{ "fdatasync", SB_ALLOW, SB_ANY },
	{ "flock", SB_ALLOW, SB_ANY },
	{ NULL, SB_ALLOW, SB_ANY }
};
