/*
 * Locked, atomic rewrites of the users file.  The lock is a separate file,
 * `<users>.lock', because the users file itself is replaced by rename(2)
 * and a lock on it would be left behind on the old inode.  The new file is
 * written with mkostemp() next to the old one, given the old one's mode and
 * (as root) owner and group, fsync'd, renamed into place, and the directory
 * is fsync'd so the rename survives a crash.  Signals that would stop us
 * half-way are held off while the temporary file exists, and any failure
 * removes it: the users file is always the old one or the new one.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "userdb.h"
#include "userdb_edit.h"
#include "util.h"

#define NEW_FILE_MODE	0640

static int
fail(struct userdb_edit *e, const char *what)
{
	int saved = errno;

	snprintf(e->err, sizeof(e->err), "%s: %s", what, strerror(saved));
	errno = saved;
	return -1;
}

/*
 * Takes the lock and reads the current file.  `newgid' is the group a new
 * file gets when we are root ((gid_t)-1: ours).
 */
int
userdb_edit_begin(struct userdb_edit *e, const char *path, gid_t newgid)
{
	char lock[PATH_MAX + 8];
	struct stat st;
	int fd, r;

	memset(e, 0, sizeof(*e));
	e->lockfd = -1;
	if (strlcpy(e->path, path, sizeof(e->path)) >= sizeof(e->path) ||
	    (size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock)) {
		errno = ENAMETOOLONG;
		return fail(e, path);
	}
	if ((e->lockfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return fail(e, lock);
	do {
		r = flock(e->lockfd, LOCK_EX);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return fail(e, lock);
	e->mode = NEW_FILE_MODE;
	e->uid = geteuid();
	e->gid = newgid != (gid_t)-1 ? newgid : getegid();
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : fail(e, path);
	if (fstat(fd, &st) == -1 || userdb_read_fd(fd, &e->old,
	    &e->oldlen) == -1) {
		fail(e, path);
		close(fd);
		return -1;
	}
	close(fd);
	e->mode = st.st_mode & 07777;
	e->uid = st.st_uid;
	e->gid = st.st_gid;
	return 0;
}

static int
sync_dir(struct userdb_edit *e)
{
	char dir[PATH_MAX];
	int fd, r;

	strlcpy(dir, e->path, sizeof(dir));
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return fail(e, dir);
	r = fsync(fd);
	close(fd);
	return r == -1 ? fail(e, "fsync of the directory") : 0;
}

/* Writes a temporary file with buf and renames it over the users file. */
static int
replace(struct userdb_edit *e, const char *buf, size_t len)
{
	char tmp[PATH_MAX + 8];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", e->path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return fail(e, e->path);
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return fail(e, tmp);
	if (fd_write_all(fd, buf, len) == -1) {
		fail(e, tmp);
		goto bad;
	}
	if (geteuid() == 0 && fchown(fd, e->uid, e->gid) == -1) {
		fail(e, "fchown");
		goto bad;
	}
	if (fchmod(fd, e->mode) == -1) {
		fail(e, "fchmod");
		goto bad;
	}
	if (fsync(fd) == -1) {
		fail(e, "fsync");
		goto bad;
	}
	if (close(fd) == -1) {
		fd = -1;
		fail(e, tmp);
		goto bad;
	}
	fd = -1;
	if (rename(tmp, e->path) == -1) {
		fail(e, e->path);
		goto bad;
	}
	return sync_dir(e);
bad:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
userdb_edit_commit(struct userdb_edit *e, const char *buf, size_t len)
{
	sigset_t hold, old;
	int r;

	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	sigaddset(&hold, SIGQUIT);
	sigaddset(&hold, SIGTSTP);
	sigaddset(&hold, SIGPIPE);
	sigprocmask(SIG_BLOCK, &hold, &old);
	r = replace(e, buf, len);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Releases the lock (closing the descriptor does it) and the old text. */
void
userdb_edit_end(struct userdb_edit *e)
{
	userdb_edit_free(e->old, e->oldlen);
	e->old = NULL;
	if (e->lockfd != -1)
		close(e->lockfd);
	e->lockfd = -1;
}

void
userdb_edit_free(char *buf, size_t len)
{
	if (buf != NULL) {
		sodium_memzero(buf, len);
		free(buf);
	}
}

/* -- line edits ------------------------------------------------------------ */

/* True when the line's first field is exactly `user'. */
static int
line_is(const char *line, size_t len, const char *user)
{
	size_t n = strlen(user);

	return len > n && memcmp(line, user, n) == 0 && line[n] == ':';
}

static char *
alloc_out(size_t oldlen, size_t extra)
{
	if (oldlen > USERDB_MAX_SIZE || extra > USERDB_MAX_SIZE) {
		errno = EFBIG;
		return NULL;
	}
	return malloc(oldlen + extra + 1);
}

/* The old text plus `line' (which ends in '\n') on a line of its own. */
int
userdb_edit_append(const char *old, size_t oldlen, const char *line,
    char **out, size_t *outlen)
{
	size_t n = strlen(line), o = 0;
	char *buf;

	if ((buf = alloc_out(oldlen, n + 1)) == NULL)
		return -1;
	if (oldlen > 0) {
		memcpy(buf, old, oldlen);
		o = oldlen;
		if (old[oldlen - 1] != '\n')
			buf[o++] = '\n';
	}
	memcpy(buf + o, line, n);
	*out = buf;
	*outlen = o + n;
	return 0;
}

/* Drops every line for `user'; returns how many went, or -1. */
int
userdb_edit_remove(const char *old, size_t oldlen, const char *user,
    char **out, size_t *outlen)
{
	size_t pos = 0, o = 0, n, removed = 0;
	const char *nl;
	char *buf;

	if ((buf = alloc_out(oldlen, 0)) == NULL)
		return -1;
	while (pos < oldlen) {
		nl = memchr(old + pos, '\n', oldlen - pos);
		n = nl ? (size_t)(nl - (old + pos)) + 1 : oldlen - pos;
		if (line_is(old + pos, n, user))
			removed++;
		else {
			memcpy(buf + o, old + pos, n);
			o += n;
		}
		pos += n;
	}
	*out = buf;
	*outlen = o;
	return removed > INT32_MAX ? INT32_MAX : (int)removed;
}

/*
 * Puts `hash' in the first line for `user' (the one in force), keeping its
 * mailbox field and a '!' that disables the account.  Returns 1, 0 when
 * there is no such line, or -1.
 */
int
userdb_edit_sethash(const char *old, size_t oldlen, const char *user,
    const char *hash, char **out, size_t *outlen)
{
	size_t pos = 0, o = 0, n, ulen = strlen(user), hlen = strlen(hash);
	const char *nl, *f, *end;
	char *buf;
	int done = 0;

	if ((buf = alloc_out(oldlen, hlen + 1)) == NULL)
		return -1;
	while (pos < oldlen) {
		nl = memchr(old + pos, '\n', oldlen - pos);
		n = nl ? (size_t)(nl - (old + pos)) + 1 : oldlen - pos;
		if (done || !line_is(old + pos, n, user)) {
			memcpy(buf + o, old + pos, n);
			o += n;
			pos += n;
			continue;
		}
		/* user ':' [ '!' ] new hash, then the rest from the next ':' */
		f = old + pos + ulen + 1;
		end = old + pos + n;
		memcpy(buf + o, old + pos, ulen + 1);
		o += ulen + 1;
		if (f < end && *f == '!')
			buf[o++] = '!';
		memcpy(buf + o, hash, hlen);
		o += hlen;
		while (f < end && *f != ':' && *f != '\n' && *f != '\r')
			f++;
		memcpy(buf + o, f, end - f);
		o += end - f;
		pos += n;
		done = 1;
	}
	*out = buf;
	*outlen = o;
	return done;
}
