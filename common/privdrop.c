/*
 * Privilege drop and chroot for the child roles, in the OpenSSH order:
 * check the directory, chroot and chdir("/"), setgroups, setresgid,
 * setresuid, then prove root cannot be regained.  Every failure is fatal: a
 * process that cannot confine itself must not serve traffic.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int
priv_is_root(void)
{
	return geteuid() == 0;
}

int
priv_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* A chroot directory must belong to `owner' and be writable by nobody else. */
void
priv_check_dir(const char *dir, uid_t owner, int flags)
{
	struct stat st;

	if (stat(dir, &st) == -1)
		fatal("chroot directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("chroot directory %s: not a directory", dir);
	if (st.st_uid != owner)
		fatalx("chroot directory %s: owned by uid %u, not %u", dir,
		    (unsigned)st.st_uid, (unsigned)owner);
	if ((flags & PRIV_DIR_ROOT_OWNED) && (st.st_mode & 022))
		fatalx("chroot directory %s: writable by group or others",
		    dir);
	if (!(flags & PRIV_DIR_ROOT_OWNED) && (st.st_mode & 002))
		fatalx("chroot directory %s: writable by others", dir);
}

void
priv_drop(const char *dir, uid_t uid, gid_t gid, int flags)
{
	if (!priv_is_root()) {
		log_warnx("WARNING: not running as root: no chroot, no "
		    "privilege drop (development mode)");
		return;
	}
	if (uid == 0)
		fatalx("refusing to run as uid 0");
	if (dir != NULL) {
		priv_check_dir(dir, (flags & PRIV_DIR_ROOT_OWNED) ? 0 : uid,
		    flags);
		if (chroot(dir) == -1)
			fatal("chroot %s", dir);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid %u", (unsigned)uid);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("could regain root after dropping privileges");
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid)
		fatalx("privilege drop did not stick");
}

/*
 * Resource limits for a confined child: no core, no fork, no files, and
 * no more descriptors than the role can hold (nofile, which must exceed
 * the highest descriptor number already open).
 */
void
priv_limits(int flags, rlim_t nofile)
{
	struct rlimit zero = { 0, 0 }, files = { nofile, nofile }, now;

	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		fatal("setrlimit RLIMIT_CORE");
	/* NPROC 0 stops fork(); root ignores it, so this follows the drop. */
	if (setrlimit(RLIMIT_NPROC, &zero) == -1)
		fatal("setrlimit RLIMIT_NPROC");
	if (flags & PRIV_NO_FILES) {
		/* a stray write to a file fails with EFBIG, not SIGXFSZ */
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &zero) == -1)
			fatal("setrlimit RLIMIT_FSIZE");
	}
	/* never above what we were given: lowering needs no privilege */
	if (getrlimit(RLIMIT_NOFILE, &now) == 0 &&
	    now.rlim_max != RLIM_INFINITY && now.rlim_max < nofile)
		files.rlim_cur = files.rlim_max = now.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &files) == -1)
		fatal("setrlimit RLIMIT_NOFILE %llu", (unsigned long long)nofile);
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
#endif
}
