/*
 * Threat-model T02: each role's seccomp filter, built by the real backend
 * (sandbox_filter()) from the real policy, is exported and run by the
 * interpreter in bpf_eval.c, never loaded, against the reviewed table in
 * tests/unit/sandbox_golden.txt (role, syscall, arguments, ABI -> action).
 * Any difference, any rule of a policy without a row giving its action, any
 * argument rule or action the generator has no cases for, and any BPF
 * opcode the interpreter does not know is a failure.  `test_sandbox_bpf -g
 * [role...]' prints the table as the filters decide it today, for reviewing
 * a policy change as a diff against the golden file.
 */
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "bpf_eval.h"
#include "ipc_proto.h"
#include "sandbox_build.h"
#include "sandbox_policy.h"
#include "test.h"

#define GOLDEN		"tests/unit/sandbox_golden.txt"
#define TEST_DIRFD	7	/* every role's directory descriptor */
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#if defined(__x86_64__)
#define NATIVE_X86_64	1
#else
#define NATIVE_X86_64	0
#endif

/* Adding a role is one row here, then its section in the golden file. */
static const struct role {
	int			 role;
	const struct sb_rule	*rules;
} roles[] = {
	{ ROLE_PARENT, sandbox_parent_rules },
	{ ROLE_SESSION, sandbox_session_rules },
	{ ROLE_AUTHD, sandbox_authd_rules },
	{ ROLE_STORAGED, sandbox_storaged_rules },
	{ ROLE_AUDIT, sandbox_audit_rules },
};
#define NROLES	nitems(roles)
#define NATIVE	(&bpf_abis[0])

/* Rows that hold in one build only (rules under POP3D_SANITIZE). */
enum build { BUILD_ANY, BUILD_PLAIN, BUILD_SANITIZE };
static const char *const build_names[] = { "any", "plain", "sanitize" };
#ifdef POP3D_SANITIZE
#define THIS_BUILD	BUILD_SANITIZE
#else
#define THIS_BUILD	BUILD_PLAIN
#endif
static const struct build_dep {
	int		 role;		/* ROLE_NONE: the base list's */
	const char	*sys;
} build_dependent[] = {
	{ ROLE_NONE, "sigaltstack" },	/* sandbox_base.c */
	{ ROLE_PARENT, "open" },	/* sandbox_parent.c */
};

struct row {
	int			 line;
	const struct role	*role;
	const struct bpf_abi	*abi;
	char			 sys[32];
	int			 nr;
	uint64_t		 args[6];
	enum build		 build;
	uint32_t		 expect;
};

static struct bpf_prog progs[NROLES];

static void	fail(const char *, ...) __attribute__((format(printf, 1, 2)));
static int	kind_known(enum sb_arg);

static void
fail(const char *fmt, ...)
{
	va_list ap;

	test_failed++;
	fputs("FAIL ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the filters, exported without loading ---- */

static const struct bpf_prog *
role_prog(const struct role *r)
{
	struct bpf_prog *p = &progs[r - roles];
	scmp_filter_ctx ctx;
	int rc;

	if (p->insn != NULL)
		return p;
	ctx = sandbox_filter(r->role, TEST_DIRFD);
	if ((rc = bpf_export(ctx, p)) < 0) {
		fprintf(stderr, "cannot export the %s filter (%d)\n",
		    ipc_role_name(r->role), rc);
		exit(2);
	}
	seccomp_release(ctx);
	return p;
}

static void
free_progs(void)
{
	size_t i;

	for (i = 0; i < NROLES; i++)
		bpf_free(&progs[i]);
}

/* Every instruction, reached or not, must be one the interpreter knows. */
static void
check_opcodes(const struct role *r)
{
	const struct bpf_prog *p = role_prog(r);
	size_t bad;

	if (bpf_opcodes_known(p, &bad))
		test_passed++;
	else
		fail("%s filter: unknown BPF opcode 0x%04x at %zu",
		    ipc_role_name(r->role), p->insn[bad].code, bad);
}

/* ---- actions ---- */

/*
 * What the backend makes of each policy action; a new sb_action fails to
 * compile here (-Wswitch) until the table knows it.
 */
static int
rule_action(enum sb_action action, uint32_t *ret)
{
	switch (action) {
	case SB_ALLOW:
		*ret = SECCOMP_RET_ALLOW;
		return 0;
	case SB_EACCES:
		*ret = SECCOMP_RET_ERRNO | EACCES;
		return 0;
	case SB_ENOSYS:
		*ret = SECCOMP_RET_ERRNO | ENOSYS;
		return 0;
	}
	return -1;
}

/* ---- rows ---- */

static uint32_t
evaluate(const struct row *rw)
{
	uint32_t ret;

	if (bpf_call(role_prog(rw->role), rw->abi, rw->nr, rw->args,
	    &ret) == -1) {
		fail("line %d: the %s filter cannot be run: %s", rw->line,
		    ipc_role_name(rw->role->role), bpf_last_error());
		return SECCOMP_RET_ACTION_FULL;	/* matches no row */
	}
	return ret;
}

/* Appends to a string, truncating rather than overflowing. */
static void
append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* "args=a,b,..." up to the last non-zero one, "arch=", "build=". */
static void
format_options(const struct row *rw, char *buf, size_t size)
{
	int64_t v;
	int i, last;

	buf[0] = '\0';
	for (last = 5; last >= 0 && rw->args[last] == 0; last--)
		;
	for (i = 0; i <= last; i++) {
		append(buf, size, "%s", i == 0 ? "args=" : ",");
		/* small values in decimal (AT_FDCWD is -100), flags in hex */
		v = (int64_t)rw->args[i];
		if (v >= -4096 && v < 16)
			append(buf, size, "%lld", (long long)v);
		else
			append(buf, size, "0x%llx",
			    (unsigned long long)rw->args[i]);
	}
	if (rw->abi != NATIVE)
		append(buf, size, "%sarch=%s", buf[0] ? " " : "",
		    rw->abi->name);
	if (rw->build != BUILD_ANY)
		append(buf, size, "%sbuild=%s", buf[0] ? " " : "",
		    build_names[rw->build]);
}

static void
print_row(FILE *out, const struct row *rw, uint32_t action, const char *note)
{
	char act[32], opts[256];

	format_options(rw, opts, sizeof(opts));
	bpf_action_str(action, act, sizeof(act));
	fprintf(out, "%-9s %-17s %-26s -> %s%s%s\n",
	    ipc_role_name(rw->role->role), rw->sys, opts, act,
	    note ? "\t# " : "", note ? note : "");
}

static const struct role *
find_role(const char *name)
{
	size_t i;

	for (i = 0; i < NROLES; i++)
		if (strcmp(name, ipc_role_name(roles[i].role)) == 0)
			return &roles[i];
	return NULL;
}

/* "a,b,c": up to six numbers, decimal (may be negative) or 0x hex. */
static int
parse_args(const char *s, uint64_t args[6])
{
	char *end;
	int i;

	for (i = 0; i < 6; i++) {
		args[i] = s[0] == '-' ? (uint64_t)strtoll(s, &end, 0) :
		    strtoull(s, &end, 0);
		if (end == s || (*end != ',' && *end != '\0'))
			return -1;
		if (*end == '\0')
			return 0;
		s = end + 1;
	}
	return -1;
}

static int
parse_option(struct row *rw, const char *tok)
{
	if (strncmp(tok, "args=", 5) == 0)
		return parse_args(tok + 5, rw->args);
	if (strncmp(tok, "arch=", 5) == 0)
		return (rw->abi = bpf_abi_find(tok + 5)) == NULL ? -1 : 0;
	if (strcmp(tok, "build=plain") == 0)
		rw->build = BUILD_PLAIN;
	else if (strcmp(tok, "build=sanitize") == 0)
		rw->build = BUILD_SANITIZE;
	else
		return -1;
	return 0;
}

/*
 * One golden line: ROLE SYSCALL [args=..] [arch=..] [build=..] -> ACTION,
 * '#' to the end of the line is a comment.  Returns 1 for a row, 0 for a
 * blank line, -1 for a malformed one.
 */
static int
parse_row(char *line, struct row *rw)
{
	char *tok, *sys;

	line[strcspn(line, "#\n")] = '\0';
	if ((tok = strtok(line, " \t")) == NULL)
		return 0;
	memset(rw, 0, sizeof(*rw));
	rw->abi = NATIVE;
	if ((rw->role = find_role(tok)) == NULL ||
	    (sys = strtok(NULL, " \t")) == NULL ||
	    strlen(sys) >= sizeof(rw->sys))
		return -1;
	snprintf(rw->sys, sizeof(rw->sys), "%s", sys);
	while ((tok = strtok(NULL, " \t")) != NULL && strcmp(tok, "->") != 0)
		if (parse_option(rw, tok) == -1)
			return -1;
	if (tok == NULL || (tok = strtok(NULL, " \t")) == NULL ||
	    bpf_action_parse(tok, &rw->expect) == -1 ||
	    strtok(NULL, " \t") != NULL ||
	    bpf_syscall_nr(rw->abi, rw->sys, &rw->nr) == -1)
		return -1;
	return 1;
}

/* ---- checking the golden table ---- */

static void
check_row(const struct row *rw)
{
	uint32_t got = evaluate(rw);
	char act[32], note[64];

	if (got == rw->expect) {
		test_passed++;
		return;
	}
	bpf_action_str(got, act, sizeof(act));
	snprintf(note, sizeof(note), "but the filter says %s", act);
	fprintf(stderr, "FAIL golden line %d: ", rw->line);
	print_row(stderr, rw, rw->expect, note);
	test_failed++;
}

static int
is_kill(uint32_t action)
{
	return action == SECCOMP_RET_KILL_PROCESS ||
	    action == SECCOMP_RET_KILL_THREAD;
}

/* Has the table a native row in which role r's sys gets this action? */
static int
covered(const struct row *rows, size_t n, const struct role *r,
    const char *sys, uint32_t action)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].role == r && rows[i].abi == NATIVE &&
		    strcmp(rows[i].sys, sys) == 0 && rows[i].expect == action)
			return 1;
	return 0;
}

/*
 * Every rule of a role's policy (or the base list) needs a row showing its
 * action, and an action and argument rule the generator (-g) knows.
 */
static void
check_coverage(const struct row *rows, size_t n, const struct role *r)
{
	const struct sb_rule *lists[2] = { r->rules, sandbox_base_rules };
	const struct sb_rule *rule;
	const char *name = ipc_role_name(r->role);
	uint32_t action;
	int i, nr;

	for (i = 0; i < 2; i++)
		for (rule = lists[i]; rule->syscall != NULL; rule++) {
			if (rule_action(rule->action, &action) == -1)
				fail("%s's rule on %s: unknown action %d",
				    name, rule->syscall, (int)rule->action);
			else if (!kind_known(rule->arg))
				fail("%s's rule on %s: argument rule %d has "
				    "no cases in argcases[]", name,
				    rule->syscall, (int)rule->arg);
			else if (bpf_syscall_nr(NATIVE, rule->syscall,
			    &nr) == -1)
				continue;	/* not an x86_64 syscall */
			else if (covered(rows, n, r, rule->syscall, action))
				test_passed++;
			else
				fail("golden: %s's rule on %s has no row with "
				    "its action", name, rule->syscall);
		}
}

/* Reads every row that applies to this build; NULL if the file is bad. */
static struct row *
read_golden(const char *path, size_t *n)
{
	struct row *rows = NULL, *tmp, rw;
	char line[512];
	FILE *f;
	int lineno = 0, bad = 0, r;

	if ((f = fopen(path, "r")) == NULL) {
		fail("%s: %s (run from the top of the tree)", path,
		    strerror(errno));
		return NULL;
	}
	for (*n = 0; fgets(line, sizeof(line), f) != NULL; ) {
		lineno++;
		if ((r = parse_row(line, &rw)) == -1) {
			fail("%s:%d: malformed row", path, lineno);
			bad = 1;
		}
		if (r != 1 || (rw.build != BUILD_ANY && rw.build != THIS_BUILD))
			continue;
		rw.line = lineno;
		if ((tmp = realloc(rows, (*n + 1) * sizeof(*rows))) == NULL)
			exit(2);
		rows = tmp;
		rows[(*n)++] = rw;
	}
	fclose(f);
	if (bad) {
		free(rows);
		return NULL;
	}
	return rows;
}

/*
 * Filters stack across fork and execve: every child runs under the
 * parent's filter as well as its own, and the harsher verdict wins.  So
 * whatever a child's policy allows, or refuses softly, the parent's filter
 * must allow, or the child is killed where its own policy meant otherwise.
 */
static void
check_inherited(void)
{
	const struct sb_rule *lists[2], *r;
	uint64_t args[6] = { 0 };
	uint32_t ret;
	size_t i, l;
	int nr;

	for (i = 1; i < NROLES; i++) {
		lists[0] = roles[i].rules;
		lists[1] = sandbox_base_rules;
		for (l = 0; l < 2; l++)
			for (r = lists[l]; r->syscall != NULL; r++) {
				if (bpf_syscall_nr(NATIVE, r->syscall, &nr) == -1)
					continue;	/* not on this ABI */
				if (bpf_call(role_prog(&roles[0]), NATIVE, nr,
				    args, &ret) == 0 && ret == SECCOMP_RET_ALLOW)
					test_passed++;
				else
					fail("%s may make %s, but the parent's "
					    "filter, which it inherits, does not "
					    "allow it",
					    ipc_role_name(roles[i].role),
					    r->syscall);
			}
	}
}

static int
check_golden(const char *path)
{
	struct row *rows;
	size_t i, n;

	bpf_self_test(&test_passed, &test_failed);
	for (i = 0; i < NROLES; i++)
		check_opcodes(&roles[i]);
	check_inherited();
	if ((rows = read_golden(path, &n)) != NULL) {
		for (i = 0; i < n; i++)
			check_row(&rows[i]);
		for (i = 0; i < NROLES; i++)
			check_coverage(rows, n, &roles[i]);
		free(rows);
	}
	free_progs();
	printf("sandbox_bpf: %d passed, %d failed\n", test_passed,
	    test_failed);
	return test_failed != 0;
}

/* ---- printing the table as the filters decide it (-g) ---- */

/*
 * Arguments that pass, and that fail, each kind of argument rule (a case
 * may serve several); openat, mmap/mprotect and unlinkat take the checked
 * value in arg 2, fcntl in arg 1, socket, clone and kill in arg 0.
 */
#define K(kind)	(1u << (kind))
#define MEM	(K(SB_NO_EXEC) | K(SB_ANON_NO_EXEC))
#define RO	K(SB_READ_ONLY)
#define DIR_RO	K(SB_DIR_READ_ONLY)
#define DIR	K(SB_DIR)
#define LOCAL	K(SB_LOCAL_SOCKET)
#define NOFL	K(SB_NO_FLAGS)
#define NONS	K(SB_NO_NAMESPACE)
#define ONE	K(SB_ONE_PROCESS)
#define FDFL	K(SB_FD_FLAGS)
#define FDCWD	((uint64_t)(int64_t)AT_FDCWD)
#define DIRFD	TEST_DIRFD
#define ANON	(MAP_PRIVATE | MAP_ANONYMOUS)
#define MM(prot, flags, fd)	{ 0, 4096, (prot), (flags), (uint64_t)(fd) }
#define FORK	(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)
#define THREAD	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
		 CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | \
		 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)
static const struct argcase {
	unsigned int	 kinds;		/* K(kind) of each kind it tests */
	uint64_t	 args[6];
	const char	*note;
} argcases[] = {
	{ K(SB_ANY), { 0 }, NULL },
	{ MEM, MM(PROT_READ | PROT_WRITE, ANON, -1),
	    "PROT_READ|PROT_WRITE, anonymous mmap" },
	{ MEM, MM(PROT_NONE, ANON, -1), "PROT_NONE, anonymous mmap" },
	{ MEM, MM(PROT_READ, MAP_SHARED, 5), "PROT_READ, mmap of fd 5" },
	{ K(SB_ANON_NO_EXEC), MM(PROT_READ, MAP_PRIVATE, 5),
	    "PROT_READ, private mmap of fd 5" },
	{ MEM, MM(PROT_READ | PROT_EXEC, ANON, -1),
	    "PROT_READ|PROT_EXEC, anonymous mmap" },
	{ MEM, MM(PROT_EXEC, MAP_PRIVATE, 5), "PROT_EXEC, mmap of fd 5" },
	{ RO, { FDCWD, 0, O_RDONLY }, "AT_FDCWD, O_RDONLY" },
	{ RO, { 5, 0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW },
	    "O_RDONLY|O_CLOEXEC|O_NOFOLLOW" },
	{ RO, { FDCWD, 0, O_WRONLY }, "O_WRONLY" },
	{ RO, { FDCWD, 0, O_RDWR }, "O_RDWR" },
	{ RO, { FDCWD, 0, O_RDONLY | O_CREAT }, "O_RDONLY|O_CREAT" },
	{ RO, { FDCWD, 0, O_WRONLY | O_CREAT | O_TRUNC },
	    "O_WRONLY|O_CREAT|O_TRUNC" },
	{ RO, { FDCWD, 0, O_RDONLY | O_TRUNC }, "O_RDONLY|O_TRUNC" },
	{ RO, { FDCWD, 0, O_RDONLY | O_APPEND }, "O_RDONLY|O_APPEND" },
	{ RO, { FDCWD, 0, O_RDWR | O_TMPFILE }, "O_RDWR|O_TMPFILE" },
	{ DIR_RO, { DIRFD, 0, O_RDONLY }, "dirfd 7, O_RDONLY" },
	{ DIR_RO, { DIRFD, 0, O_RDONLY | O_CLOEXEC },
	    "dirfd 7, O_RDONLY|O_CLOEXEC" },
	{ DIR_RO, { DIRFD, 0, O_WRONLY }, "dirfd 7, O_WRONLY" },
	{ DIR_RO, { DIRFD, 0, O_RDWR }, "dirfd 7, O_RDWR" },
	{ DIR_RO, { DIRFD, 0, O_RDONLY | O_CREAT },
	    "dirfd 7, O_RDONLY|O_CREAT" },
	{ DIR_RO, { DIRFD, 0, O_RDONLY | O_TRUNC },
	    "dirfd 7, O_RDONLY|O_TRUNC" },
	{ DIR_RO, { 8, 0, O_RDONLY }, "another descriptor" },
	{ DIR, { DIRFD, 0, O_WRONLY | O_CREAT | O_EXCL },
	    "dirfd 7, O_WRONLY|O_CREAT|O_EXCL" },
	{ DIR, { DIRFD, 0, DIRFD, 0 }, "dirfd 7 to dirfd 7" },
	{ DIR, { 8, 0, O_RDONLY }, "another descriptor" },
	{ DIR, { FDCWD, 0, O_WRONLY | O_CREAT }, "AT_FDCWD" },
	{ DIR_RO, { FDCWD, 0, O_RDONLY }, "AT_FDCWD" },
	{ DIR_RO, { DIRFD | (1ULL << 32), 0, O_RDONLY },
	    "7 in the low 32 bits only" },
	{ LOCAL, { AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC },
	    "AF_UNIX, SOCK_DGRAM" },
	{ LOCAL, { AF_UNIX, SOCK_STREAM }, "AF_UNIX, SOCK_STREAM" },
	{ LOCAL, { AF_INET, SOCK_STREAM }, "AF_INET" },
	{ LOCAL, { AF_INET6, SOCK_DGRAM }, "AF_INET6" },
	{ LOCAL, { AF_NETLINK, SOCK_RAW }, "AF_NETLINK" },
	{ LOCAL, { AF_PACKET, SOCK_RAW }, "AF_PACKET" },
	{ LOCAL, { AF_UNIX | (1ULL << 32), SOCK_STREAM },
	    "AF_UNIX with high bits" },
	{ NOFL, { FDCWD, 0, 0 }, "AT_FDCWD, flags 0: a file" },
	{ NOFL, { 5, 0, 0 }, "fd 5, flags 0: a file" },
	{ NOFL, { FDCWD, 0, AT_REMOVEDIR }, "AT_REMOVEDIR" },
	{ NONS, { FORK }, "fork: CHILD_SETTID|CHILD_CLEARTID|SIGCHLD" },
	{ NONS, { THREAD }, "pthread_create" },
	{ NONS, { FORK | CLONE_NEWUSER | CLONE_NEWNS },
	    "fork, CLONE_NEWUSER|CLONE_NEWNS" },
	{ NONS, { FORK | CLONE_NEWUSER }, "fork, CLONE_NEWUSER" },
	{ NONS, { FORK | CLONE_NEWNS }, "fork, CLONE_NEWNS" },
	{ NONS, { FORK | CLONE_NEWNET }, "fork, CLONE_NEWNET" },
	{ NONS, { FORK | CLONE_NEWPID }, "fork, CLONE_NEWPID" },
	{ NONS, { FORK | CLONE_NEWIPC }, "fork, CLONE_NEWIPC" },
	{ NONS, { FORK | CLONE_NEWUTS }, "fork, CLONE_NEWUTS" },
	{ NONS, { FORK | CLONE_NEWCGROUP }, "fork, CLONE_NEWCGROUP" },
	{ ONE, { 123, SIGTERM }, "pid 123" },
	{ ONE, { 0, SIGTERM }, "0: its own process group" },
	{ ONE, { 123 | (1ULL << 32), SIGTERM }, "pid 123 in the low 32 bits" },
	{ ONE, { -1, SIGTERM }, "-1: every process" },
	{ ONE, { -123, SIGTERM }, "-123: process group 123" },
	{ ONE, { 0xffffffff, SIGTERM }, "-1 in the low 32 bits" },
	{ FDFL, { 3, F_SETFD, FD_CLOEXEC }, "F_SETFD FD_CLOEXEC" },
	{ FDFL, { 3, F_GETFD }, "F_GETFD" },
	{ FDFL, { 3, F_GETFL }, "F_GETFL" },
	{ FDFL, { 3, F_SETFL, O_NONBLOCK }, "F_SETFL O_NONBLOCK" },
	{ FDFL, { 3, F_DUPFD, 10 }, "F_DUPFD" },
	{ FDFL, { 3, F_DUPFD_CLOEXEC, 10 }, "F_DUPFD_CLOEXEC" },
	{ FDFL, { 3, F_SETOWN, 1 }, "F_SETOWN" },
	{ FDFL, { 3, F_SETLK }, "F_SETLK" },
};

/*
 * Telling arguments for calls a role lists: for one without an argument
 * rule, the rows show what the filter leaves to chroot, uid and the code.
 */
static const struct probe {
	const char	*sys;
	uint64_t	 args[6];
	const char	*note;
} probes[] = {
	{ "openat", { FDCWD, 0, O_WRONLY | O_CREAT | O_TRUNC },
	    "create a file" },
	{ "setresuid", { 0, 0, 0 }, "to root" },
	{ "ptrace", { PTRACE_ATTACH, 1 }, "attach to init" },
};

/* Why a row without arguments is not killed, where the policy is subtle. */
static const struct remark {
	int		 role;
	const char	*sys;
	const char	*note;
} remarks[] = {
	{ ROLE_PARENT, "clone3", "glibc falls back to clone" },
	{ ROLE_PARENT, "open", "probes a child refuses softly; ASan" },
	{ ROLE_PARENT, "mmap", "ld.so in a new child maps files" },
};

/*
 * The common forbidden set: each is listed as "never allowed" for every
 * role whose policy does not list it (the parent's lists many).
 */
static const char *const forbidden[] = {
	"socket", "socketpair", "connect", "bind", "listen", "accept4",
	"execve", "execveat", "fork", "vfork", "clone", "clone3",
	"ptrace", "process_vm_readv", "process_vm_writev", "kill", "tkill",
	"tgkill", "setuid", "setgid", "setresuid", "setresgid", "setgroups",
	"capset", "prctl", "seccomp", "chroot", "pivot_root", "mount",
	"umount2", "unshare", "setns", "bpf", "perf_event_open",
	"userfaultfd", "io_uring_setup", "personality", "keyctl", "add_key",
	"init_module", "kexec_load", "reboot", "open_by_handle_at", "openat2",
	"memfd_create", "pkey_mprotect", "remap_file_pages", "ioctl", "dup",
	"pipe2", "mkdirat", "renameat2", "linkat", "symlinkat", "fchmodat",
	"fchownat", "truncate", "ftruncate", "sigaltstack", "open", NULL,
};

/* The first rule for sys in a list, or NULL. */
static const struct sb_rule *
in_list(const struct sb_rule *rules, const char *sys)
{
	for (; rules->syscall != NULL; rules++)
		if (strcmp(rules->syscall, sys) == 0)
			return rules;
	return NULL;
}

/* The kinds of the rules r (its list or the base list) has for sys. */
static unsigned int
kinds_of(const struct role *r, const char *sys)
{
	const struct sb_rule *lists[2] = { r->rules, sandbox_base_rules };
	const struct sb_rule *rule;
	unsigned int kinds = 0;
	int i;

	for (i = 0; i < 2; i++)
		for (rule = lists[i]; rule->syscall != NULL; rule++)
			if (strcmp(rule->syscall, sys) == 0)
				kinds |= K(rule->arg);
	return kinds;
}

/*
 * Has argcases[] rows for this kind?  A new sb_arg fails to compile here
 * (-Wswitch) until it is added, with its cases.
 */
static int
kind_known(enum sb_arg kind)
{
	size_t i;

	switch (kind) {
	case SB_ANY:
	case SB_NO_EXEC:
	case SB_READ_ONLY:
	case SB_DIR_READ_ONLY:
	case SB_LOCAL_SOCKET:
	case SB_ANON_NO_EXEC:
	case SB_NO_FLAGS:
	case SB_NO_NAMESPACE:
	case SB_ONE_PROCESS:
	case SB_FD_FLAGS:
	case SB_DIR:
		for (i = 0; i < nitems(argcases); i++)
			if (argcases[i].kinds & K(kind))
				return 1;
		break;
	}
	return 0;
}

/*
 * Whether r may make sys depends on the build if a rule for it is under
 * POP3D_SANITIZE: in r's own list, or in the base list that r's own list
 * does not override.
 */
static enum build
row_build(const struct role *r, const char *sys)
{
	size_t i;

	for (i = 0; i < nitems(build_dependent); i++) {
		if (strcmp(build_dependent[i].sys, sys) != 0)
			continue;
		if (build_dependent[i].role == r->role ||
		    (build_dependent[i].role == ROLE_NONE &&
		    !in_list(r->rules, sys)))
			return THIS_BUILD;
	}
	return BUILD_ANY;
}

/* Prints r's row for sys (if it exists for this ABI). */
static void
gen_row(const struct role *r, const char *sys, const struct bpf_abi *abi,
    const uint64_t args[6], const char *note)
{
	struct row rw;
	uint32_t action;
	size_t i;

	memset(&rw, 0, sizeof(rw));
	rw.role = r;
	rw.abi = abi;
	snprintf(rw.sys, sizeof(rw.sys), "%s", sys);
	memcpy(rw.args, args, sizeof(rw.args));
	rw.build = row_build(r, sys);
	if (bpf_syscall_nr(abi, sys, &rw.nr) == -1)
		return;
	action = evaluate(&rw);
	for (i = 0; i < nitems(remarks) && note == NULL; i++)
		if (remarks[i].role == r->role && !is_kill(action) &&
		    strcmp(remarks[i].sys, sys) == 0 && abi == NATIVE)
			note = remarks[i].note;
	print_row(stdout, &rw, action, note);
}

/*
 * The rows for every rule of a list, each syscall once, with the argument
 * cases of every rule the role has for it (parent's mmap is both its own
 * SB_ANY and the base list's SB_ANON_NO_EXEC).
 */
static void
gen_rules(const struct role *r, const struct sb_rule *rules,
    const char *title)
{
	const struct sb_rule *rule;
	uint32_t action;
	size_t i;

	printf("\n# %s: %s\n", ipc_role_name(r->role), title);
	for (rule = rules; rule->syscall != NULL; rule++) {
		if (!kind_known(rule->arg))	/* add its argcases */
			fprintf(stderr, "no argument cases for %s's rule "
			    "on %s\n", ipc_role_name(r->role), rule->syscall);
		if (rule_action(rule->action, &action) == -1)
			fprintf(stderr, "unknown action of %s's rule on %s\n",
			    ipc_role_name(r->role), rule->syscall);
		if (in_list(rules, rule->syscall) != rule ||
		    (rules == sandbox_base_rules &&
		    in_list(r->rules, rule->syscall) != NULL))
			continue;	/* its rows are printed already */
		for (i = 0; i < nitems(argcases); i++)
			if (argcases[i].kinds & kinds_of(r, rule->syscall))
				gen_row(r, rule->syscall, NATIVE,
				    argcases[i].args, argcases[i].note);
	}
}

static void
gen_role(const struct role *r)
{
	const char *const *f;
	size_t i;

	gen_rules(r, r->rules, "its own list, with the arguments it allows "
	    "and refuses");
	gen_rules(r, sandbox_base_rules, "the base list (sandbox_base.c)");
	/* probes for the calls r's list has; "never allowed" for others */
	printf("\n# %s: allowed calls with telling arguments\n",
	    ipc_role_name(r->role));
	for (i = 0; i < nitems(probes); i++)
		if (in_list(r->rules, probes[i].sys) != NULL)
			gen_row(r, probes[i].sys, NATIVE, probes[i].args,
			    probes[i].note);
	printf("\n# %s: never allowed\n", ipc_role_name(r->role));
	for (f = forbidden; *f != NULL; f++)
		if (!in_list(r->rules, *f) && !in_list(sandbox_base_rules, *f))
			gen_row(r, *f, NATIVE, argcases[0].args, NULL);
	gen_row(r, "999", NATIVE, argcases[0].args, NULL);
	printf("\n# %s: other ABIs on x86_64 (T04)\n", ipc_role_name(r->role));
	gen_row(r, "getpid", &bpf_abis[1], argcases[0].args, NULL);
	gen_row(r, "getpid", &bpf_abis[2], argcases[0].args, NULL);
}

static int
generate(char **names)
{
	const struct role *r;
	size_t i;

	if (names[0] == NULL)
		for (i = 0; i < NROLES; i++)
			gen_role(&roles[i]);
	for (; *names != NULL; names++) {
		if ((r = find_role(*names)) == NULL) {
			fprintf(stderr, "no role %s\n", *names);
			return 2;
		}
		gen_role(r);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *golden = GOLDEN;
	int ch, gen = 0, rc;

	while ((ch = getopt(argc, argv, "f:g")) != -1) {
		switch (ch) {
		case 'f':
			golden = optarg;
			break;
		case 'g':
			gen = 1;
			break;
		default:
			fprintf(stderr, "usage: test_sandbox_bpf [-f golden] "
			    "| -g [role ...]\n");
			return 2;
		}
	}
	if (gen) {
		rc = generate(argv + optind);
		free_progs();
		return rc;
	}
	if (!NATIVE_X86_64) {
		/* the golden table is written in x86_64 terms */
		printf("sandbox_bpf: 0 passed, 0 failed\n");
		return 0;
	}
	return check_golden(golden);
}
