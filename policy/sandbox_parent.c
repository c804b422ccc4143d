/*
 * What the parent may do once it serves: accept clients, create the
 * channels and pipes of new children, fork and execute the role binaries,
 * reap and signal them, re-read the TLS key pair on SIGHUP, log to syslog
 * over a local socket.  A seccomp filter is inherited across fork and
 * execve, so this list also holds what every child does between fork and
 * its own, narrower filter: loading its libraries (mmap with PROT_EXEC),
 * looking up its user (nscd over a local socket, /etc/passwd), chroot, the
 * uid change, and storaged's start-up scan of the mailbox.  What it keeps
 * out is the kernel surface no role uses: no new network socket (the
 * listeners are bound before the filter), no ptrace, mount, namespaces,
 * module loading, BPF, io_uring, keyrings, perf or process_vm.  The parent
 * runs as root, so this filter narrows what a compromised parent can reach
 * in the kernel; it cannot narrow what root may do to files.  The list was
 * taken from strace -f of the protocol suites, every process included.
 */
#include <stddef.h>

#include "sandbox_policy.h"

const struct sb_rule sandbox_parent_rules[] = {
	/* clients, channels, children */
	{ "accept4", SB_ALLOW, SB_ANY },
	{ "accept", SB_ALLOW, SB_ANY },
	{ "getsockname", SB_ALLOW, SB_ANY },
	{ "getpeername", SB_ALLOW, SB_ANY },
	{ "setsockopt", SB_ALLOW, SB_ANY },	/* TCP_NODELAY */
	{ "getsockopt", SB_ALLOW, SB_ANY },
	{ "socketpair", SB_ALLOW, SB_ANY },
	{ "pipe2", SB_ALLOW, SB_ANY },
	{ "recvmsg", SB_ALLOW, SB_ANY },
	{ "sendmsg", SB_ALLOW, SB_ANY },
	{ "recvfrom", SB_ALLOW, SB_ANY },
	{ "sendto", SB_ALLOW, SB_ANY },		/* syslog, nscd */
	{ "read", SB_ALLOW, SB_ANY },
	{ "write", SB_ALLOW, SB_ANY },
	{ "readv", SB_ALLOW, SB_ANY },
	{ "writev", SB_ALLOW, SB_ANY },
	{ "pread64", SB_ALLOW, SB_ANY },	/* ld.so */
	{ "poll", SB_ALLOW, SB_ANY },
	{ "ppoll", SB_ALLOW, SB_ANY },
	{ "close", SB_ALLOW, SB_ANY },
	{ "close_range", SB_ALLOW, SB_ANY },
	{ "dup2", SB_ALLOW, SB_ANY },
	{ "dup3", SB_ALLOW, SB_ANY },
	{ "fcntl", SB_ALLOW, SB_ANY },
	{ "lseek", SB_ALLOW, SB_ANY },
	/* syslog(3) and nscd: local sockets only */
	{ "socket", SB_ALLOW, SB_LOCAL_SOCKET },
	{ "connect", SB_ALLOW, SB_ANY },
	/* processes: fork, exec, reap, signal, thread start-up (authd) */
	{ "clone", SB_ALLOW, SB_NO_NAMESPACE },
	/* clone3's flags are behind a pointer: ENOSYS makes glibc use clone */
	{ "clone3", SB_ENOSYS, SB_ANY },
	{ "execve", SB_ALLOW, SB_ANY },
	{ "wait4", SB_ALLOW, SB_ANY },
	{ "waitid", SB_ALLOW, SB_ANY },
	{ "kill", SB_ALLOW, SB_ONE_PROCESS },	/* never -1 */
	{ "tgkill", SB_ALLOW, SB_ANY },		/* glibc setxid broadcast */
	{ "rt_sigaction", SB_ALLOW, SB_ANY },
	{ "set_robust_list", SB_ALLOW, SB_ANY },
	{ "set_tid_address", SB_ALLOW, SB_ANY },
	{ "rseq", SB_ALLOW, SB_ANY },
	{ "arch_prctl", SB_ALLOW, SB_ANY },
	{ "gettid", SB_ALLOW, SB_ANY },
	{ "getppid", SB_ALLOW, SB_ANY },
	{ "sched_yield", SB_ALLOW, SB_ANY },
	{ "sched_getaffinity", SB_ALLOW, SB_ANY },
	{ "clock_nanosleep", SB_ALLOW, SB_ANY },
	{ "nanosleep", SB_ALLOW, SB_ANY },
	{ "sysinfo", SB_ALLOW, SB_ANY },
	{ "uname", SB_ALLOW, SB_ANY },
	/* loading a program: libraries are mapped executable */
	{ "mmap", SB_ALLOW, SB_ANY },
	{ "mprotect", SB_ALLOW, SB_ANY },
	/* files: the TLS pair on SIGHUP, /dev/null, ld.so, passwd; children
	 * before their own filter (storaged's mailbox scan and new -> cur) */
	{ "openat", SB_ALLOW, SB_ANY },
	{ "newfstatat", SB_ALLOW, SB_ANY },
	{ "fstat", SB_ALLOW, SB_ANY },
	{ "statx", SB_ALLOW, SB_ANY },
	{ "access", SB_ALLOW, SB_ANY },
	{ "faccessat", SB_ALLOW, SB_ANY },
	{ "faccessat2", SB_ALLOW, SB_ANY },
	{ "readlink", SB_ALLOW, SB_ANY },
	/*
	 * Filters stack and the harsher verdict wins: what a child's own
	 * policy refuses softly (EACCES) or allows must not be killed here.
	 * open and stat are those probes (and the ASan runtime's raw open of
	 * /proc/self files); shutdown the session's.
	 */
	{ "open", SB_ALLOW, SB_ANY },
	{ "stat", SB_ALLOW, SB_ANY },
	{ "shutdown", SB_ALLOW, SB_ANY },
	{ "readlinkat", SB_ALLOW, SB_ANY },
	{ "getdents64", SB_ALLOW, SB_ANY },
	{ "getcwd", SB_ALLOW, SB_ANY },
	{ "flock", SB_ALLOW, SB_ANY },
	{ "renameat2", SB_ALLOW, SB_ANY },
	{ "renameat", SB_ALLOW, SB_ANY },
	{ "rename", SB_ALLOW, SB_ANY },		/* the ban file, replaced */
	{ "unlink", SB_ALLOW, SB_ANY },		/* ...or its temporary removed */
	{ "unlinkat", SB_ALLOW, SB_ANY },
	{ "mkdirat", SB_ALLOW, SB_ANY },	/* storaged: a Maildir without cur/ */
	{ "linkat", SB_ALLOW, SB_ANY },		/* rename without RENAME_NOREPLACE */
	{ "fsync", SB_ALLOW, SB_ANY },
	{ "fdatasync", SB_ALLOW, SB_ANY },
	{ "ftruncate", SB_ALLOW, SB_ANY },
	{ "umask", SB_ALLOW, SB_ANY },
	{ "fchmod", SB_ALLOW, SB_ANY },		/* the audit state file */
	/* confining a child: chroot, uid and gid, limits, its filter */
	{ "chdir", SB_ALLOW, SB_ANY },
	{ "chroot", SB_ALLOW, SB_ANY },
	{ "setgroups", SB_ALLOW, SB_ANY },
	{ "setresgid", SB_ALLOW, SB_ANY },
	{ "setresuid", SB_ALLOW, SB_ANY },
	{ "setuid", SB_ALLOW, SB_ANY },		/* "can root be regained?" */
	{ "setgid", SB_ALLOW, SB_ANY },
	{ "getuid", SB_ALLOW, SB_ANY },
	{ "geteuid", SB_ALLOW, SB_ANY },
	{ "getgid", SB_ALLOW, SB_ANY },
	{ "getegid", SB_ALLOW, SB_ANY },
	{ "getresuid", SB_ALLOW, SB_ANY },
	{ "getresgid", SB_ALLOW, SB_ANY },
	{ "getgroups", SB_ALLOW, SB_ANY },
	{ "prctl", SB_ALLOW, SB_ANY },
	{ "prlimit64", SB_ALLOW, SB_ANY },
	{ "getrlimit", SB_ALLOW, SB_ANY },
	{ "setrlimit", SB_ALLOW, SB_ANY },
	{ "seccomp", SB_ALLOW, SB_ANY },
	{ NULL, SB_ALLOW, SB_ANY }
};
