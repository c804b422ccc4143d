/*
 * Test hook, compiled only into the test build (make TEST_HOOKS=1, which
 * the ASan/UBSan build of the test run uses; never the default build):
 * lets the test suite tell a confined role to attempt one forbidden action,
 * so that the tests can show on a running daemon that the filter kills it
 * (or refuses it where the policy says so) and that the parent notices.
 * Each action is the smallest call that exercises one kind of escape.
 */
#ifdef POP3D_TEST_HOOKS

#include <sys/ptrace.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "sandbox.h"

static void
try_open(void)
{
	int fd;

	if ((fd = open("/etc/passwd", O_RDONLY)) != -1)
		close(fd);
}

static void
try_write(void)
{
	int fd;

	if ((fd = open("sandbox-test-file", O_WRONLY | O_CREAT, 0600)) != -1)
		close(fd);
}

static void
try_socket(void)
{
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1)
		close(fd);
}

static void
try_connect(void)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* any descriptor: the filter judges the call, not its arguments */
	(void)connect(0, (struct sockaddr *)&sin, sizeof(sin));
}

static void
try_execve(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };

	(void)execve("/bin/true", argv, envp);
}

static void
try_ptrace(void)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void
try_setuid(void)
{
	if (setuid(0) == 0)
		log_warnx("sandbox test hook: setuid(0) worked");
}

static const struct {
	const char	*name;
	void		(*fn)(void);
} actions[] = {
	{ "open", try_open },		/* /etc/passwd */
	{ "write", try_write },		/* create a file */
	{ "socket", try_socket },
	{ "connect", try_connect },
	{ "execve", try_execve },
	{ "ptrace", try_ptrace },
	{ "setuid", try_setuid },
};

/*
 * Attempts `what'; returns 0 with errno set when the process survived (the
 * call was refused, or it is one this role may make), -1 when `what' is
 * not an action this hook knows.
 */
int
sandbox_test_violate(const char *what)
{
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, what) == 0) {
			log_warnx("sandbox test hook: attempting %s", what);
			errno = 0;
			actions[i].fn();
			return 0;
		}
	return -1;
}

/* authd and storaged take their cue from a user named
 * xsbx-ROLE-ACTION[@domain], so that each role can be told apart. */
void
sandbox_test_user(const char *role, const char *user)
{
	char prefix[32], what[32];
	size_t n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "xsbx-%s-", role);
	if (n >= sizeof(prefix) || strncmp(user, prefix, n) != 0)
		return;
	strlcpy(what, user + n, sizeof(what));
	what[strcspn(what, "@")] = '\0';
	(void)sandbox_test_violate(what);
}

#ifdef __linux__
#include <sys/prctl.h>
#include <seccomp.h>
#include <stdlib.h>

#include "ipc_proto.h"

/*
 * POP3D_TEST_SANDBOX_FAIL=ROLE in the environment makes that role's
 * filter fail to load, as on a kernel without seccomp (threat model T03):
 * a first filter answers seccomp() and prctl(PR_SET_SECCOMP) with EINVAL,
 * so the real sandbox_enter() that follows must give up and exit.
 */
void
sandbox_test_break(int role)
{
	const char *which = getenv("POP3D_TEST_SANDBOX_FAIL");
	scmp_filter_ctx ctx;

	if (which == NULL || strcmp(which, ipc_role_name(role)) != 0)
		return;
	log_warnx("sandbox test hook: the %s filter will not load", which);
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(seccomp),
	    0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP)) < 0 ||
	    seccomp_load(ctx) < 0)
		fatalx("sandbox test hook: cannot break seccomp");
	seccomp_release(ctx);
}
#endif

#endif
