/*
 * Threat-model T01 for the session and storaged roles: a forked child
 * enters the real policy (policy/sandbox_*.c through sandbox_enter()) and
 * makes one call; forbidden calls must kill it with SIGSYS, the session's
 * file probes must fail with EACCES, storaged may open only read-only, and
 * what each role needs must still work.  T04 for every role: on x86_64, a
 * syscall the role may make, issued through the i386 or the x32 ABI, must
 * kill it too.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ipc_proto.h"
#include "sandbox.h"
#include "test.h"

static int role = ROLE_SESSION;
static int role_dirfd = -1;	/* sandbox_enter()'s dirfd (authd needs one) */

/* Runs fn in a child sandboxed as `role'; returns its wait status. */
static int
sandboxed(int (*fn)(void))
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		sandbox_enter(role, role_dirfd);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return status;
}

static int
killed(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static int
exited_ok(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int do_socket(void) { return socket(AF_INET, SOCK_STREAM, 0) != -1; }
static int do_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	execve("/bin/true", argv, NULL);
	return 1;
}
static int do_fork(void) { return fork() != -1 ? 0 : 1; }
static int do_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, 0, 0) != -1; }
static int do_kill(void) { return kill(1, 0) != -1; }
static int do_setuid(void) { return setuid(0) != -1; }
static int do_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	return connect(0, (struct sockaddr *)&sin, sizeof(sin)) != -1;
}
static int do_mmap_exec(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
}
static int do_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 2;
	return mprotect(p, 4096, PROT_READ | PROT_EXEC) != -1;
}
/* probes fail softly: exit 0 when refused with EACCES */
static int do_open(void)
{
	return !(open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
}
/* what a session needs */
static int do_allowed(void)
{
	char buf[16];
	void *m;

	if (getpid() <= 0 || getrandom(buf, sizeof(buf), 0) != sizeof(buf))
		return 1;
	if ((m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED || munmap(m, 65536) == -1)
		return 2;
	return 0;
}
/* not listed, so not allowed: pipe() */
static int do_pipe(void)
{
	int p[2];

	return pipe(p) == 0;
}
/* not listed, so not allowed: dup() */
static int do_dup(void) { return dup(0) != -1; }
static int do_malloc_and_write(void)
{
	char *p = malloc(1 << 20);

	if (p == NULL)
		return 1;
	memset(p, 'x', 1 << 20);
	free(p);
	return write(STDERR_FILENO, "", 0) == -1;
}

static void
test_forbidden(void)
{
	CHECK(killed(sandboxed(do_socket)));
	CHECK(killed(sandboxed(do_connect)));
	CHECK(killed(sandboxed(do_execve)));
	CHECK(killed(sandboxed(do_fork)));
	CHECK(killed(sandboxed(do_ptrace)));
	CHECK(killed(sandboxed(do_kill)));
	CHECK(killed(sandboxed(do_setuid)));
	CHECK(killed(sandboxed(do_mmap_exec)));
	CHECK(killed(sandboxed(do_mprotect_exec)));
}

static void
test_soft_denied(void)
{
	CHECK(exited_ok(sandboxed(do_open)));
}

static void
test_allowed(void)
{
	CHECK(exited_ok(sandboxed(do_allowed)));
	CHECK(killed(sandboxed(do_pipe)));
	CHECK(killed(sandboxed(do_dup)));
	CHECK(exited_ok(sandboxed(do_malloc_and_write)));
}

/* storaged: read-only opens pass, writing or creating kills */
static int do_open_ro(void) { return open("/etc/hostname", O_RDONLY) == -1 &&
    errno != ENOENT; }
static int do_open_wr(void) { return open("/tmp/x", O_WRONLY) != -1; }
static int do_open_rdwr(void) { return open("/tmp/x", O_RDWR) != -1; }
static int do_open_creat(void)
{
	return open("/tmp/pop3d-sandbox-test", O_RDONLY | O_CREAT, 0600) != -1;
}
static int do_open_trunc(void) { return open("/tmp/x", O_RDONLY | O_TRUNC) !=
    -1; }

static void
test_storaged(void)
{
	role = ROLE_STORAGED;
	CHECK(exited_ok(sandboxed(do_open_ro)));
	CHECK(exited_ok(sandboxed(do_malloc_and_write)));
	CHECK(killed(sandboxed(do_open_wr)));
	CHECK(killed(sandboxed(do_open_rdwr)));
	CHECK(killed(sandboxed(do_open_creat)));
	CHECK(killed(sandboxed(do_open_trunc)));
	CHECK(killed(sandboxed(do_socket)));
	CHECK(killed(sandboxed(do_connect)));
	CHECK(killed(sandboxed(do_execve)));
	CHECK(killed(sandboxed(do_fork)));
	CHECK(killed(sandboxed(do_ptrace)));
	CHECK(killed(sandboxed(do_kill)));
	CHECK(killed(sandboxed(do_setuid)));
	CHECK(killed(sandboxed(do_mmap_exec)));
	role = ROLE_SESSION;
}

#if defined(__x86_64__)
/*
 * T04: getpid, which every role may make, through the other ABIs an x86_64
 * process can reach: i386 (int $0x80, where getpid is 20; the kernel
 * clobbers r8-r11) and x32 (the native number with bit 30 set).
 */
static int
do_i386_getpid(void)
{
	long ret;

	__asm__ volatile ("int $0x80" : "=a" (ret) : "a" (20L) :
	    "r8", "r9", "r10", "r11", "memory");
	return ret <= 0;
}
static int
do_x32_getpid(void)
{
	return syscall(SYS_getpid | __X32_SYSCALL_BIT) == -1;
}
static int do_getpid(void) { return syscall(SYS_getpid) <= 0; }

/* Without IA32 emulation int $0x80 faults: the i386 ABI is then absent. */
static int
have_i386_abi(void)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == 0)
		_exit(do_i386_getpid());
	return pid != -1 && waitpid(pid, &status, 0) == pid &&
	    exited_ok(status);
}

static void
check_killed(int (*fn)(void), const char *what)
{
	int status = sandboxed(fn);

	if (!killed(status))
		fprintf(stderr, "%s: %s: not killed by SIGSYS (status 0x%x)\n",
		    ipc_role_name(role), what, status);
	CHECK(killed(status));
}

static void
test_abi_bypass(void)
{
	static const int roles[] = { ROLE_PARENT, ROLE_SESSION, ROLE_AUTHD,
	    ROLE_STORAGED, ROLE_AUDIT };
	int i386 = have_i386_abi();
	size_t i;

	if (!i386)
		fprintf(stderr, "no i386 ABI here: int $0x80 not tried\n");
	role_dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(role_dirfd != -1);
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		role = roles[i];
		/* the native call survives, so a kill below is the ABI's */
		CHECK(exited_ok(sandboxed(do_getpid)));
		if (i386)
			check_killed(do_i386_getpid, "i386 getpid");
		check_killed(do_x32_getpid, "x32 getpid");
	}
	close(role_dirfd);
	role_dirfd = -1;
	role = ROLE_SESSION;
}
#else
static void test_abi_bypass(void) { }
#endif

TEST_MAIN("sandbox", test_forbidden, test_soft_denied, test_allowed,
    test_storaged, test_abi_bypass)
