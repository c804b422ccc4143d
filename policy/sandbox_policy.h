/*
 * The shape of a role's system-call policy, shared by policy/ and the
 * seccomp backend: each entry is a syscall the role may make, how (allowed,
 * or refused with EACCES so a libc probe fails softly), and an optional
 * argument rule.  Every role gets sandbox_base_rules plus its own list;
 * anything not listed kills the process.
 */
#ifndef POP3D_SANDBOX_POLICY_H
#define POP3D_SANDBOX_POLICY_H

enum sb_action { SB_ALLOW, SB_EACCES };
enum sb_arg {
	SB_ANY,
	SB_NO_EXEC,		/* arg 2 (prot) lacks PROT_EXEC */
	SB_READ_ONLY		/* arg 2 (openat flags): read-only, no create */
};

struct sb_rule {
	const char	*syscall;
	enum sb_action	 action;
	enum sb_arg	 arg;
};

extern const struct sb_rule	sandbox_base_rules[];
extern const struct sb_rule	sandbox_session_rules[];
extern const struct sb_rule	sandbox_storaged_rules[];

#endif
