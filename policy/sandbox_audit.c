/*
 * What the audit writer may do once confined: take events from the parent
 * over its channel, append records to the audit file it was handed, and
 * replace the chain state file, only under the one directory descriptor
 * it was given (create the temporary, fsync it, rename it over the old
 * state, remove a failed temporary), and cut the file back to its last
 * whole record after a failed write.  No lseek and no pwrite: with the
 * descriptor's offset always at the end, even clearing O_APPEND could not
 * overwrite an earlier record (ftruncate can remove records, which the
 * chain and the seals show; it cannot rewrite them).  It opens nothing else, creates no
 * socket or process, and executes nothing.  Which state directory it can
 * reach is fixed by that descriptor; the filter cannot compare the names.
 */
#include <stddef.h>

#include "sandbox_policy.h"

const struct sb_rule sandbox_audit_rules[] = {
	/* the parent channel */
	{ "recvmsg", SB_ALLOW, SB_ANY },
	{ "sendmsg", SB_ALLOW, SB_ANY },	/* log lines, HELLO */
	{ "poll", SB_ALLOW, SB_ANY },
	{ "ppoll", SB_ALLOW, SB_ANY },
	{ "read", SB_ALLOW, SB_ANY },
	/* the audit file (append), stderr, the new state file */
	{ "write", SB_ALLOW, SB_ANY },
	{ "writev", SB_ALLOW, SB_ANY },
	{ "close", SB_ALLOW, SB_ANY },
	{ "fcntl", SB_ALLOW, SB_FD_FLAGS },
	{ "fsync", SB_ALLOW, SB_ANY },
	/* a write the disk refused is cut back to the last whole record */
	{ "ftruncate", SB_ALLOW, SB_ANY },
	{ "fdatasync", SB_ALLOW, SB_ANY },
	/* the state file, replaced atomically in its directory */
	{ "openat", SB_ALLOW, SB_DIR },
	{ "fchmod", SB_ALLOW, SB_ANY },
	{ "renameat", SB_ALLOW, SB_DIR },
	{ "renameat2", SB_ALLOW, SB_DIR },
	{ "unlinkat", SB_ALLOW, SB_DIR },
	{ "fstat", SB_ALLOW, SB_ANY },
	{ "newfstatat", SB_ALLOW, SB_ANY },
	{ NULL, SB_ALLOW, SB_ANY }
};
