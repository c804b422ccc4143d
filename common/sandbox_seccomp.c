/*
 * The Linux sandbox backend: a libseccomp filter built from the role's
 * policy in policy/, default action SCMP_ACT_KILL_PROCESS (the whole
 * process, not one thread), foreign architectures killed by libseccomp's
 * arch check, no_new_privs on.  Every step is fatal.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>

#include "ipc_proto.h"
#include "log.h"
#include "sandbox.h"
#include "sandbox_policy.h"

static const struct sb_rule *
role_rules(int role)
{
	switch (role) {
	case ROLE_SESSION:
		return sandbox_session_rules;
	case ROLE_STORAGED:
		return sandbox_storaged_rules;
	default:
		fatalx("sandbox: no policy for role %s", ipc_role_name(role));
	}
}

static void
add_rule(scmp_filter_ctx ctx, const struct sb_rule *r)
{
	uint32_t action = r->action == SB_EACCES ? SCMP_ACT_ERRNO(EACCES) :
	    SCMP_ACT_ALLOW;
	int nr, rc;

	if ((nr = seccomp_syscall_resolve_name(r->syscall)) == __NR_SCMP_ERROR)
		return;		/* not on this architecture (open, stat) */
	if (r->arg == SB_NO_EXEC)
		rc = seccomp_rule_add(ctx, action, nr, 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	else if (r->arg == SB_READ_ONLY)
		rc = seccomp_rule_add(ctx, action, nr, 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC |
		    O_APPEND, O_RDONLY));
	else
		rc = seccomp_rule_add(ctx, action, nr, 0);
	if (rc < 0)
		fatalx("sandbox: rule for %s: %s", r->syscall, strerror(-rc));
}

void
sandbox_enter(int role)
{
	const struct sb_rule *r = role_rules(role);
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("sandbox: seccomp_init failed");
	for (; r->syscall != NULL; r++)
		add_rule(ctx, r);
	for (r = sandbox_base_rules; r->syscall != NULL; r++)
		add_rule(ctx, r);
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
}
