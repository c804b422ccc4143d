/*
 * The Maildir back end of storaged.  Opening the mailbox moves new/ into
 * cur/, lists cur/, numbers the messages by unique part and works out each
 * size as POP3 sends it (every bare LF as CRLF, a missing final line end
 * supplied: the same rules as common/dotstuff.c).  The Maildir is shared
 * with delivery agents and other mail readers and its names are written by
 * people we do not trust, so: only regular files with plain names, no link
 * is ever followed, a rename never replaces a file, and a message that
 * disappears under us is skipped or reported, never fatal.  Sizes are
 * counted once and stored in the name as Dovecot does (,S=<disk>,W=<CRLF>),
 * so later sessions need not read the files again.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_proto.h"
#include "log.h"
#include "mailbox.h"
#include "maildir_name.h"
#include "util.h"

#define READ_CHUNK	(64 * 1024)	/* size counting reads this much */
#define SKIP_LOG_MAX	50		/* skipped entries named in logs */
#define NAME_LOG_BUF	160		/* an escaped name in a log line */

static unsigned long	nskipped;

/* Logs one entry that storaged will not serve, the first few by name. */
static void
skipped(const char *dir, const char *name, const char *why)
{
	char esc[NAME_LOG_BUF];

	if (++nskipped > SKIP_LOG_MAX)
		return;
	str_escape(esc, sizeof(esc), name, strnlen(name, 4096));
	log_warnx("%s/%s: skipped: %s", dir, esc, why);
}

static const char *
file_type(mode_t mode)
{
	if (S_ISLNK(mode))
		return "symbolic link";
	if (S_ISDIR(mode))
		return "directory";
	if (S_ISFIFO(mode))
		return "FIFO";
	if (S_ISSOCK(mode))
		return "socket";
	return "not a regular file";
}

/* Is this directory entry a message storaged may serve? */
static int
entry_ok(int dfd, const char *dir, const char *name, struct stat *st)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (!maildir_name_ok(name)) {
		skipped(dir, name, "unacceptable file name");
		return 0;
	}
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)	/* another reader moved it */
			skipped(dir, name, strerror(errno));
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {
		skipped(dir, name, file_type(st->st_mode));
		return 0;
	}
	return 1;
}

static int
open_subdir(int dirfd, const char *name)
{
	return openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* fdopendir() takes its descriptor, so it gets its own. */
static DIR *
open_listing(int dfd)
{
	DIR *d;
	int fd;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/*
 * rename() silently replaces its target, which here would destroy a
 * message; renameat2(RENAME_NOREPLACE) or link+unlink refuse instead.
 */
static int
rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	int saved;

#ifdef RENAME_NOREPLACE
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (linkat(fromfd, from, tofd, to, 0) == -1)
		return -1;
	if (unlinkat(fromfd, from, 0) == -1) {
		saved = errno;
		(void)unlinkat(tofd, to, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Delivered messages become ours: new/x -> cur/x:2, */
static void
move_new(int dirfd, int curfd)
{
	char curname[MAILDIR_NAME_BUF], esc[NAME_LOG_BUF];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int newfd;

	if ((newfd = open_subdir(dirfd, "new")) == -1) {
		if (errno != ENOENT)
			log_warn("new/: cannot open, not looking for new mail");
		return;
	}
	if ((d = open_listing(newfd)) == NULL) {
		log_warn("new/: cannot list");
		close(newfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!entry_ok(newfd, "new", de->d_name, &st))
			continue;
		if (maildir_cur_name(de->d_name, curname,
		    sizeof(curname)) == -1) {
			skipped("new", de->d_name, "name too long for cur/");
			continue;
		}
		if (rename_noreplace(newfd, de->d_name, curfd,
		    curname) == -1 && errno != ENOENT) {
			str_escape(esc, sizeof(esc), de->d_name,
			    strlen(de->d_name));
			log_warn("new/%s: cannot move to cur/", esc);
		}
	}
	closedir(d);
	close(newfd);
}

/* One allocation holds the name and the UIDL. */
static int
msg_set_name(struct mbox_msg *msg, const char *name, const char *uidl)
{
	size_t nlen = strlen(name), ulen = strlen(uidl);
	char *p;

	if ((p = malloc(nlen + 1 + ulen + 1)) == NULL)
		return -1;
	memcpy(p, name, nlen + 1);
	memcpy(p + nlen + 1, uidl, ulen + 1);
	free(msg->name);
	msg->name = p;
	msg->uidl = p + nlen + 1;
	msg->ulen = maildir_unique_len(name);
	return 0;
}

static int
add_msg(struct mailbox *mb, const char *name, uint64_t size)
{
	char uidl[MAILDIR_UIDL_BUF];
	struct mbox_msg *msg;
	size_t ncap;

	if (mb->count == mb->cap) {
		ncap = mb->cap == 0 ? 256 : mb->cap * 2;
		if ((msg = reallocarray(mb->msgs, ncap, sizeof(*msg))) == NULL)
			return -1;
		mb->msgs = msg;
		mb->cap = ncap;
	}
	msg = &mb->msgs[mb->count];
	memset(msg, 0, sizeof(*msg));
	if (maildir_uidl(name, uidl, sizeof(uidl)) == -1 ||
	    msg_set_name(msg, name, uidl) == -1)
		return -1;
	msg->size = size;
	mb->count++;
	return 0;
}

/*
 * Lists cur/.  *seen counts every acceptable entry; only the first `max'
 * are kept, so an over-limit mailbox costs no more memory than a full one.
 */
static int
collect(struct mailbox *mb, uint32_t max, uint32_t *seen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	*seen = 0;
	if ((d = open_listing(mb->curfd)) == NULL) {
		log_warn("cur/: cannot list");
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!entry_ok(mb->curfd, "cur", de->d_name, &st))
			continue;
		if (*seen < UINT32_MAX)
			(*seen)++;
		if (mb->count >= max)
			continue;
		if (add_msg(mb, de->d_name, (uint64_t)st.st_size) == -1)
			fatal("out of memory listing cur/");
	}
	closedir(d);
	return 0;
}

/* By unique part, then by whole name, so numbering is reproducible. */
static int
cmp_msg(const void *va, const void *vb)
{
	const struct mbox_msg *a = va, *b = vb;
	size_t n = a->ulen < b->ulen ? a->ulen : b->ulen;
	int c;

	if ((c = memcmp(a->name, b->name, n)) != 0)
		return c;
	if (a->ulen != b->ulen)
		return a->ulen < b->ulen ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * Equal UIDLs come from equal unique parts (a hashed UIDL would need a
 * BLAKE2b collision), which the sort puts next to each other: keep the
 * first, skip the rest.
 */
static void
dedupe(struct mailbox *mb)
{
	uint32_t i, kept = 0;

	for (i = 0; i < mb->count; i++) {
		if (kept > 0 &&
		    strcmp(mb->msgs[i].uidl, mb->msgs[kept - 1].uidl) == 0) {
			skipped("cur", mb->msgs[i].name, "duplicate UIDL");
			free(mb->msgs[i].name);
			continue;
		}
		mb->msgs[kept++] = mb->msgs[i];
	}
	mb->count = kept;
}

/*
 * Counts the bytes of an open file and what POP3 makes of them.  Reads in
 * fixed chunks: a message is never held in memory whole.
 */
static int
count_octets(int fd, uint64_t *size, uint64_t *octets)
{
	static uint8_t buf[READ_CHUNK];
	uint64_t n = 0, extra = 0;
	uint8_t last = 0;
	const uint8_t *p, *end;
	ssize_t r;

	for (;;) {
		if ((r = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		if ((uint64_t)r > MAILDIR_SIZE_MAX - n) {
			errno = EFBIG;
			return -1;
		}
		end = buf + r;
		for (p = buf; (p = memchr(p, '\n', end - p)) != NULL; p++)
			if ((p > buf ? p[-1] : last) != '\r')
				extra++;
		last = buf[r - 1];
		n += r;
	}
	if (n > 0 && last != '\n')
		extra += 2;
	*size = n;
	*octets = n + extra;
	return 0;
}

static int
measure(int curfd, const char *name, uint64_t *size, uint64_t *octets)
{
	struct stat st;
	int fd, r, saved;

	fd = openat(curfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	r = count_octets(fd, size, octets);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Records the sizes in the name; this session does not depend on it. */
static void
record_sizes(int curfd, struct mbox_msg *msg)
{
	char name[MAILDIR_NAME_BUF];

	if (maildir_sized_name(msg->name, msg->size, msg->octets, name,
	    sizeof(name)) == -1 || strcmp(name, msg->name) == 0)
		return;
	if (rename_noreplace(curfd, msg->name, curfd, name) == -1) {
		log_debug("cur/: could not record sizes for %s", msg->uidl);
		return;
	}
	if (msg_set_name(msg, name, msg->uidl) == -1)
		fatal("out of memory");
}

/* Sizes from trustworthy hints, else from the file; -1: drop the entry. */
static int
size_msg(int curfd, struct mbox_msg *msg)
{
	struct maildir_hints h;
	char esc[NAME_LOG_BUF];

	maildir_hints(msg->name, &h);
	if (h.has_size && h.has_vsize && h.size == msg->size &&
	    maildir_vsize_plausible(h.size, h.vsize)) {
		msg->octets = h.vsize;
		return 0;
	}
	if (measure(curfd, msg->name, &msg->size, &msg->octets) == -1) {
		if (errno != ENOENT) {
			str_escape(esc, sizeof(esc), msg->name,
			    strlen(msg->name));
			log_warn("cur/%s: skipped", esc);
		}
		return -1;
	}
	record_sizes(curfd, msg);
	return 0;
}

static void
size_all(struct mailbox *mb)
{
	uint32_t i, kept = 0;

	mb->octets = 0;
	for (i = 0; i < mb->count; i++) {
		if (size_msg(mb->curfd, &mb->msgs[i]) == -1) {
			free(mb->msgs[i].name);
			continue;
		}
		mb->octets += mb->msgs[i].octets;
		mb->msgs[kept++] = mb->msgs[i];
	}
	mb->count = kept;
}

void
mailbox_init(struct mailbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->curfd = -1;
}

void
mailbox_free(struct mailbox *mb)
{
	uint32_t i;

	for (i = 0; i < mb->count; i++)
		free(mb->msgs[i].name);
	free(mb->msgs);
	if (mb->curfd != -1)
		close(mb->curfd);
	mailbox_init(mb);
}

/* cur/ must be a real directory; a Maildir without one gets it. */
static int
open_cur(int dirfd)
{
	int fd;

	if ((fd = open_subdir(dirfd, "cur")) == -1 && errno == ENOENT) {
		if (mkdirat(dirfd, "cur", 0700) == -1 && errno != EEXIST)
			return -1;
		fd = open_subdir(dirfd, "cur");
	}
	return fd;
}

/*
 * Opens the mailbox in dirfd (locked by the caller).  Returns MBOX_OK,
 * MBOX_TOOBIG with *seen set, or a failure code.
 */
int
mailbox_scan(struct mailbox *mb, int dirfd, uint32_t max, uint32_t *seen)
{
	*seen = 0;
	nskipped = 0;
	if ((mb->curfd = open_cur(dirfd)) == -1) {
		log_warn("cur/: cannot open");
		return errno == ELOOP || errno == ENOTDIR || errno == EACCES ?
		    MBOX_PERMFAIL : MBOX_TEMPFAIL;
	}
	move_new(dirfd, mb->curfd);
	if (collect(mb, max, seen) == -1)
		return MBOX_TEMPFAIL;
	if (*seen > max) {
		log_warnx("%u messages, more than the limit of %u", *seen,
		    max);
		return MBOX_TOOBIG;
	}
	if (mb->count > 1)	/* qsort(NULL, 0) is undefined */
		qsort(mb->msgs, mb->count, sizeof(*mb->msgs), cmp_msg);
	dedupe(mb);
	size_all(mb);
	if (nskipped > SKIP_LOG_MAX)
		log_warnx("%lu more entries skipped", nskipped - SKIP_LOG_MAX);
	return MBOX_OK;
}

/* Message `n' (1-based), or NULL when there is none. */
const struct mbox_msg *
mailbox_msg(const struct mailbox *mb, uint32_t n)
{
	if (n < 1 || n > mb->count)
		return NULL;
	return &mb->msgs[n - 1];
}

/* MBOX_OK when message `n' exists and is not marked deleted. */
int
mailbox_lookup(const struct mailbox *mb, uint32_t n)
{
	const struct mbox_msg *msg;

	if ((msg = mailbox_msg(mb, n)) == NULL)
		return MBOX_NOSUCH;
	return msg->deleted ? MBOX_DELETED : MBOX_OK;
}

/*
 * A read-only descriptor for message `n'.  The file may have gone or
 * changed since the mailbox was opened (another reader, the owner): the
 * session then gets a temporary failure rather than a size that lies.
 */
int
mailbox_open_msg(struct mailbox *mb, uint32_t n, int *fdp)
{
	const struct mbox_msg *msg;
	struct stat st;
	int code, fd;

	if ((code = mailbox_lookup(mb, n)) != MBOX_OK)
		return code;
	msg = mailbox_msg(mb, n);
	fd = openat(mb->curfd, msg->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		log_warn("message %u (%s): cannot open", n, msg->uidl);
		return MBOX_TEMPFAIL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != msg->size) {
		log_warnx("message %u (%s): changed since the mailbox was "
		    "opened", n, msg->uidl);
		close(fd);
		return MBOX_TEMPFAIL;
	}
	*fdp = fd;
	return MBOX_OK;
}

int
mailbox_mark(struct mailbox *mb, uint32_t n)
{
	int code;

	if ((code = mailbox_lookup(mb, n)) != MBOX_OK)
		return code;
	mb->msgs[n - 1].deleted = 1;
	mb->ndeleted++;
	mb->deleted_octets += mb->msgs[n - 1].octets;
	return MBOX_OK;
}

void
mailbox_unmark_all(struct mailbox *mb)
{
	uint32_t i;

	for (i = 0; i < mb->count; i++)
		mb->msgs[i].deleted = 0;
	mb->ndeleted = 0;
	mb->deleted_octets = 0;
}

/*
 * The UPDATE state: unlink what the session marked, then make the
 * directory change durable.  A file already gone counts as deleted.
 */
int
mailbox_expunge(struct mailbox *mb, uint32_t *done)
{
	uint32_t i;
	int code = MBOX_OK;

	*done = 0;
	for (i = 0; i < mb->count; i++) {
		if (!mb->msgs[i].deleted)
			continue;
		if (unlinkat(mb->curfd, mb->msgs[i].name, 0) == -1 &&
		    errno != ENOENT) {
			log_warn("message %u (%s): cannot delete", i + 1,
			    mb->msgs[i].uidl);
			code = MBOX_TEMPFAIL;
			continue;
		}
		log_info("message %u (%s) deleted", i + 1, mb->msgs[i].uidl);
		mb->msgs[i].expunged = 1;
		(*done)++;
	}
	if (mb->curfd != -1 && fsync(mb->curfd) == -1) {
		log_warn("cur/: fsync");
		code = MBOX_TEMPFAIL;
	}
	return code;
}
