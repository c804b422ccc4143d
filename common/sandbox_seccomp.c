/*
 * The Linux sandbox backend: a libseccomp filter built from the role's
 * policy in policy/, default action SCMP_ACT_KILL_PROCESS (the whole
 * process, not one thread), foreign architectures killed by libseccomp's
 * arch check, no_new_privs on, and loaded into every thread at once (TSYNC:
 * authd's Argon2id workers exist before it confines itself).  Every step
 * is fatal.
 */
#include <sys/mman.h>
#include <sched.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>

#include "ipc_proto.h"
#include "log.h"
#include "sandbox.h"
#include "sandbox_build.h"
#include "sandbox_policy.h"

static const struct sb_rule *
role_rules(int role)
{
	switch (role) {
	case ROLE_SESSION:
		return sandbox_session_rules;
	case ROLE_STORAGED:
		return sandbox_storaged_rules;
	case ROLE_AUTHD:
		return sandbox_authd_rules;
	case ROLE_PARENT:
		return sandbox_parent_rules;
	case ROLE_AUDIT:
		return sandbox_audit_rules;
	default:
		fatalx("sandbox: no policy for role %s", ipc_role_name(role));
	}
}

#define CLONE_NEW_ANY	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
			 CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
			 CLONE_NEWNET)

static void
add(scmp_filter_ctx ctx, const struct sb_rule *r, uint32_t action, int nr,
    unsigned int n, const struct scmp_arg_cmp *cmp)
{
	int rc;

	if ((rc = seccomp_rule_add_array(ctx, action, nr, n, cmp)) < 0)
		fatalx("sandbox: rule for %s: %s", r->syscall, strerror(-rc));
}

/* The argument conditions (all must hold) that go with one rule. */
static unsigned int
conditions(const struct sb_rule *r, int dirfd, struct scmp_arg_cmp *c)
{
	const struct scmp_arg_cmp read_only = SCMP_A2(SCMP_CMP_MASKED_EQ,
	    O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY);

	switch (r->arg) {
	case SB_ANY:
		return 0;
	case SB_NO_EXEC:
		c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
		return 1;
	case SB_ANON_NO_EXEC:
		c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
		c[1] = SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, MAP_ANONYMOUS);
		return 2;
	case SB_READ_ONLY:
		c[0] = read_only;
		return 1;
	case SB_DIR_READ_ONLY:
		if (dirfd < 0)
			fatalx("sandbox: %s needs a directory descriptor",
			    r->syscall);
		c[0] = read_only;
		c[1] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)dirfd);
		return 2;
	case SB_LOCAL_SOCKET:
		c[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
		return 1;
	case SB_NO_FLAGS:
		c[0] = SCMP_A2(SCMP_CMP_EQ, 0);
		return 1;
	case SB_NO_NAMESPACE:
		c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEW_ANY, 0);
		return 1;
	case SB_ONE_PROCESS:
		/* pid not negative as a C int: no other process group, and
		 * never -1 (every process); 0, its own group, stays */
		c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u, 0);
		return 1;
	case SB_DIR:
		if (dirfd < 0)
			fatalx("sandbox: %s needs a directory descriptor",
			    r->syscall);
		c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)dirfd);
		return 1;
	case SB_FD_FLAGS:
		break;		/* one rule per command, in add_rule() */
	}
	fatalx("sandbox: rule for %s: unknown argument rule", r->syscall);
}

static void
add_rule(scmp_filter_ctx ctx, const struct sb_rule *r, int dirfd)
{
	/* fcntl: descriptor and status flags only, no dup, no F_SETOWN */
	static const int fd_flag_cmds[] = { F_GETFD, F_SETFD, F_GETFL,
	    F_SETFL };
	struct scmp_arg_cmp cmp[2];
	uint32_t action;
	size_t i;
	int nr;

	if ((nr = seccomp_syscall_resolve_name(r->syscall)) == __NR_SCMP_ERROR)
		return;		/* not on this architecture (open, stat) */
	action = r->action == SB_EACCES ? SCMP_ACT_ERRNO(EACCES) :
	    r->action == SB_ENOSYS ? SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW;
	if (r->arg != SB_FD_FLAGS) {
		add(ctx, r, action, nr, conditions(r, dirfd, cmp), cmp);
		return;
	}
	for (i = 0; i < sizeof(fd_flag_cmds) / sizeof(fd_flag_cmds[0]); i++) {
		cmp[0] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fd_flag_cmds[i]);
		add(ctx, r, action, nr, 1, cmp);
	}
}

/*
 * Builds the role's filter without loading it, so that the tests can export
 * and evaluate exactly what sandbox_enter() loads (threat model T02).
 */
scmp_filter_ctx
sandbox_filter(int role, int dirfd)
{
	const struct sb_rule *r = role_rules(role);
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("sandbox: seccomp_init failed");
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("sandbox: thread sync: %s", strerror(-rc));
	/* a foreign ABI (int 0x80, x32) ends the process, not one thread */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		fatalx("sandbox: bad-arch action: %s", strerror(-rc));
	for (; r->syscall != NULL; r++)
		add_rule(ctx, r, dirfd);
	for (r = sandbox_base_rules; r->syscall != NULL; r++)
		add_rule(ctx, r, dirfd);
	return ctx;
}

void
sandbox_enter(int role, int dirfd)
{
	scmp_filter_ctx ctx = sandbox_filter(role, dirfd);
	int rc;

#ifdef POP3D_TEST_HOOKS
	sandbox_test_break(role);
#endif
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
}
