/*
 * The shape of a role's system-call policy, shared by policy/ and the
 * seccomp backend: each entry is a syscall the role may make, how (allowed,
 * or refused with EACCES so a libc probe fails softly, or with ENOSYS so
 * libc falls back to an older call we can filter), and an optional
 * argument rule.  Every role gets sandbox_base_rules plus its own list;
 * anything not listed kills the process.
 */
#ifndef POP3D_SANDBOX_POLICY_H
#define POP3D_SANDBOX_POLICY_H

enum sb_action { SB_ALLOW, SB_EACCES, SB_ENOSYS };
enum sb_arg {
	SB_ANY,
	SB_NO_EXEC,		/* arg 2 (prot) lacks PROT_EXEC */
	SB_READ_ONLY,		/* arg 2 (openat flags): read-only, no create */
	SB_DIR_READ_ONLY,	/* SB_READ_ONLY, and arg 0 is the role's one
				 * directory descriptor (sandbox_enter) */
	SB_LOCAL_SOCKET,	/* arg 0 (socket domain) is AF_UNIX */
	SB_ANON_NO_EXEC,	/* mmap: SB_NO_EXEC and MAP_ANONYMOUS */
	SB_NO_FLAGS,		/* arg 2 is 0 (unlinkat: no AT_REMOVEDIR) */
	SB_NO_NAMESPACE,	/* clone: no CLONE_NEW* flag */
	SB_ONE_PROCESS,		/* kill: arg 0 is not negative */
	SB_FD_FLAGS,		/* fcntl: F_GETFD/F_SETFD/F_GETFL/F_SETFL */
	SB_DIR			/* arg 0 is the role's directory descriptor */
};

struct sb_rule {
	const char	*syscall;
	enum sb_action	 action;
	enum sb_arg	 arg;
};

extern const struct sb_rule	sandbox_base_rules[];
extern const struct sb_rule	sandbox_session_rules[];
extern const struct sb_rule	sandbox_storaged_rules[];
extern const struct sb_rule	sandbox_authd_rules[];
extern const struct sb_rule	sandbox_parent_rules[];
extern const struct sb_rule	sandbox_audit_rules[];

#endif
