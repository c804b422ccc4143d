/*
 * pop3d-storaged: one process per logged-in POP3 session, serving exactly
 * one mailbox.  The parent (root) execs it with its channel on fd 3 and the
 * session's channel on fd 4, sends the mailbox, owner and limits, and from
 * then on only receives log lines.  storaged checks the mailbox belongs to
 * the mail owner, chroots into it and becomes that owner, locks it against
 * a second session, opens it (mailbox_maildir.c) and answers the session's
 * numbered requests.  The session is untrusted: every number is checked
 * again here, and deletions are applied only when it asks for UPDATE after
 * QUIT.  Any other end -- EOF, a malformed request, a crash -- leaves the
 * mailbox exactly as it was (design.md, invariant 2).
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_send.h"
#include "ipc.h"
#include "log.h"
#include "mailbox.h"
#include "maildir_name.h"
#include "privdrop.h"
#include "sandbox.h"
#include "util.h"

#define PARENT_FD		3
#define SESSION_FD		4
#define SETUP_TIMEOUT_MS	(10 * 1000)
#define SEND_TIMEOUT_MS		(300 * 1000)	/* session not reading */
#define DRAIN_MAX		64	/* messages read before exiting */

/* A full IPC_MBOX_LISTING must fit in one message. */
_Static_assert(8 + IPC_LIST_MAX * (4 + 8 + 2 + MAILDIR_UIDL_MAX) <=
    IPC_MAX_PAYLOAD, "IPC_LIST_MAX entries do not fit in a LISTING");

struct setup {
	char		user[IPC_MAX_STR + 1];
	char		mailbox[PATH_MAX];
	char		empty[PATH_MAX];
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	max_messages;
	uint32_t	flags;
};

static struct ipc_chan	parent_chan, session_chan;
static struct ipc_chan	audit_chan = { .fd = -1 };	/* to the audit writer */
static struct setup	setup;
static struct mailbox	mbox;
static char		user_log[128];	/* setup.user, escaped */
static char		mbox_log[256];	/* setup.mailbox, escaped */

static void	h_hello(struct ipc_msg *);
static void	h_stat(struct ipc_msg *);
static void	h_list(struct ipc_msg *);
static void	h_retr(struct ipc_msg *);
static void	h_top(struct ipc_msg *);
static void	h_dele(struct ipc_msg *);
static void	h_rset(struct ipc_msg *);
static void	h_update(struct ipc_msg *);

/* What the session may ask; the permission table already allows no more. */
static void (*const handlers[IPC_TYPE_MAX])(struct ipc_msg *) = {
	[IPC_HELLO] = h_hello,
	[IPC_MBOX_STAT] = h_stat,
	[IPC_MBOX_LIST] = h_list,
	[IPC_MBOX_RETR] = h_retr,
	[IPC_MBOX_TOP] = h_top,
	[IPC_MBOX_DELE] = h_dele,
	[IPC_MBOX_RSET] = h_rset,
	[IPC_MBOX_UPDATE] = h_update,
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pop3d-storaged [-v]\n");
	exit(1);
}

/*
 * Sends to the session, waiting while its receive queue is full.  A session
 * that is gone or stops reading ends storaged; nothing has been deleted
 * unless UPDATE already ran.
 */
static void
send_session(struct ipc_msg *m)
{
	uint64_t deadline = monotonic_ms() + SEND_TIMEOUT_MS, now;
	struct pollfd pfd;

	while (ipc_send(&session_chan, m) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ENOBUFS && errno != EINTR) {
			log_warn("user %s: session channel", user_log);
			exit(0);
		}
		if ((now = monotonic_ms()) >= deadline) {
			log_warnx("user %s: session does not read its "
			    "channel, giving up", user_log);
			exit(0);
		}
		pfd.fd = session_chan.fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			fatal("poll");
	}
}

static void
send_status(uint32_t code, uint32_t count, uint64_t octets)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_MBOX_STATUS, 0);
	ipc_put_u32(&m, code);
	ipc_put_u32(&m, count);
	ipc_put_u64(&m, octets);
	send_session(&m);
}

/*
 * Ends after a final reply.  What the session sent and we did not read
 * must be read first: on Linux, closing an AF_UNIX socket with unread data
 * makes the peer's next receive fail with ECONNRESET ahead of the reply
 * still queued for it.  Bounded, so a session that keeps sending cannot
 * keep us here.
 */
static void __attribute__((noreturn))
finish(int status)
{
	struct ipc_msg m;
	int i;

	for (i = 0; i < DRAIN_MAX; i++) {
		if (ipc_recv(&session_chan, &m) != IPC_OK)
			break;
		ipc_msg_close_fds(&m);
	}
	exit(status);
}

/* Tells the session why its mailbox cannot be served, then ends. */
static void __attribute__((noreturn))
refuse(uint32_t code)
{
	send_status(code, 0, 0);
	finish(1);
}

/* Waits for one message on `c' until `deadline'; IPC_AGAIN: timed out. */
static int
recv_wait(struct ipc_chan *c, struct ipc_msg *m, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now;
	int r;

	for (;;) {
		if ((r = ipc_recv(c, m)) != IPC_AGAIN)
			return r;
		if ((now = monotonic_ms()) >= deadline)
			return IPC_AGAIN;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			fatal("poll");
	}
}

static void
parse_setup(struct ipc_msg *m)
{
	if (ipc_get_str(m, setup.user, sizeof(setup.user)) == -1 ||
	    ipc_get_str(m, setup.mailbox, sizeof(setup.mailbox)) == -1 ||
	    ipc_get_str(m, setup.empty, sizeof(setup.empty)) == -1 ||
	    ipc_get_u32(m, &setup.uid) == -1 ||
	    ipc_get_u32(m, &setup.gid) == -1 ||
	    ipc_get_u32(m, &setup.max_messages) == -1 ||
	    ipc_get_u32(m, &setup.flags) == -1 || ipc_get_end(m) == -1)
		fatalx("malformed STORAGE_SETUP from the parent");
	str_escape(user_log, sizeof(user_log), setup.user,
	    strlen(setup.user));
	str_escape(mbox_log, sizeof(mbox_log), setup.mailbox,
	    strlen(setup.mailbox));
	if (setup.mailbox[0] != '/')
		fatalx("user %s: mailbox path is not absolute", user_log);
	if (setup.flags != 0)
		fatalx("user %s: unknown setup flags %#x", user_log,
		    setup.flags);
	if (priv_is_root() && (setup.uid == 0 || setup.gid == 0))
		fatalx("user %s: refusing to serve a mailbox as uid %u "
		    "gid %u", user_log, setup.uid, setup.gid);
}

/* The parent's HELLO, then its one STORAGE_SETUP, within the deadline. */
static void
wait_setup(void)
{
	uint64_t deadline = monotonic_ms() + SETUP_TIMEOUT_MS;
	struct ipc_msg m;
	int r;

	for (;;) {
		r = recv_wait(&parent_chan, &m, deadline);
		if (r == IPC_AGAIN)
			fatalx("no setup from the parent within %d s",
			    SETUP_TIMEOUT_MS / 1000);
		if (r != IPC_OK)
			fatalx("parent channel closed before setup");
		if (m.type == IPC_STORAGE_SETUP)
			break;
		if (m.type == IPC_AUDIT_LINK) {
			if (audit_link(&audit_chan, ROLE_STORAGED, &m) == -1)
				log_warnx("audit channel not usable");
			continue;
		}
		if (m.type != IPC_HELLO)
			fatalx("unexpected %s from the parent",
			    ipc_type_name(m.type));
	}
	parse_setup(&m);
}

/*
 * chroot() takes a path, which could have been swapped since we checked
 * it; the new root must be the very directory we opened and checked.
 */
static int
reopen_root(int fd, const struct stat *checked)
{
	struct stat st;
	int root;

	if ((root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("open / after chroot");
	if (fstat(root, &st) == -1)
		fatal("fstat / after chroot");
	if (st.st_dev != checked->st_dev || st.st_ino != checked->st_ino)
		fatalx("user %s: mailbox directory changed while chrooting",
		    user_log);
	close(fd);
	return root;
}

/* A mailbox that does not exist yet is served empty, from an empty root. */
static void
confine_empty(void)
{
	if (setup.empty[0] != '/')
		fatalx("user %s: empty directory path is not absolute",
		    user_log);
	log_debug("user %s: no mailbox yet, serving it empty", user_log);
	priv_drop(setup.empty, setup.uid, setup.gid, PRIV_DIR_ROOT_OWNED);
	priv_limits(PRIV_NO_FILES, PRIV_NOFILE_STORAGED);
}

/*
 * Opens the mailbox directory, checks it is the mail owner's, chroots into
 * it and becomes the owner.  Returns a descriptor for it, or -1 when there
 * is no mailbox.
 */
static int
confine(void)
{
	struct stat st;
	int fd, saved, was_root = priv_is_root();

	fd = open(setup.mailbox, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		confine_empty();
		return -1;
	}
	if (fd == -1) {
		saved = errno;
		log_warn("user %s: mailbox %s", user_log, mbox_log);
		refuse(saved == EMFILE || saved == ENFILE || saved == EIO ||
		    saved == ENOMEM ? MBOX_TEMPFAIL : MBOX_PERMFAIL);
	}
	if (fstat(fd, &st) == -1)
		fatal("fstat %s", mbox_log);
	if (st.st_uid != setup.uid || st.st_uid == 0) {
		log_warnx("user %s: mailbox %s owned by uid %u, not the mail "
		    "owner %u", user_log, mbox_log, (unsigned)st.st_uid,
		    setup.uid);
		refuse(MBOX_PERMFAIL);
	}
	if (st.st_mode & S_IWOTH) {
		log_warnx("user %s: mailbox %s is writable by others",
		    user_log, mbox_log);
		refuse(MBOX_PERMFAIL);
	}
	priv_drop(setup.mailbox, setup.uid, setup.gid, 0);
	priv_limits(PRIV_NO_FILES, PRIV_NOFILE_STORAGED);
	return was_root ? reopen_root(fd, &st) : fd;
}

/* One session at a time; the kernel drops the lock however we exit. */
static void
lock_mailbox(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return;
	if (errno == EWOULDBLOCK) {
		log_info("user %s: mailbox in use by another session",
		    user_log);
		audit_report(&audit_chan, "mailbox.open", "outcome", "failure",
		    "reason", "in_use", (char *)NULL);
		send_status(MBOX_INUSE, 0, 0);
		finish(0);
	}
	log_warn("user %s: lock mailbox", user_log);
	refuse(MBOX_TEMPFAIL);
}

static int lock_fd = -1;	/* the mailbox directory, flock'ed */

static void
open_mailbox(void)
{
	uint32_t seen;
	int fd, code;

	mailbox_init(&mbox);
	if ((fd = confine()) == -1)
		return;
	lock_mailbox(fd);
	code = mailbox_scan(&mbox, fd, setup.max_messages, &seen);
	if (code == MBOX_TOOBIG) {
		audit_report(&audit_chan, "mailbox.open", "outcome", "failure",
		    "reason", "too_many_messages", (char *)NULL);
		send_status(MBOX_TOOBIG, seen, 0);
		finish(0);
	}
	if (code != MBOX_OK) {
		log_warnx("user %s: mailbox cannot be opened", user_log);
		audit_report(&audit_chan, "mailbox.open", "outcome", "failure",
		    "reason", "error", (char *)NULL);
		refuse(code);
	}
	/* fd stays open: it holds the lock. */
	lock_fd = fd;
}

static void
audit_opened(void)
{
	char count[16], octets[24];

	snprintf(count, sizeof(count), "%u", mbox.count);
	snprintf(octets, sizeof(octets), "%llu",
	    (unsigned long long)mbox.octets);
	audit_report(&audit_chan, "mailbox.open", "outcome", "success",
	    "messages", count, "octets", octets, (char *)NULL);
}

/* A request that does not parse comes from a broken or hostile session. */
static void
check_end(struct ipc_msg *m)
{
	if (ipc_get_end(m) == 0)
		return;
	log_warnx("user %s: malformed %s from the session, ending without "
	    "deleting anything", user_log, ipc_type_name(m->type));
	exit(1);
}

static uint32_t
get_number(struct ipc_msg *m)
{
	uint32_t n = 0;

	if (ipc_get_u32(m, &n) == -1)
		m->error = 1;
	check_end(m);
	return n;
}

/* The session's HELLO: ipc_recv() has checked it, nothing to answer. */
static void
h_hello(struct ipc_msg *m)
{
	UNUSED(m);
}

static void
h_stat(struct ipc_msg *m)
{
	check_end(m);
	send_status(MBOX_OK, mbox.count - mbox.ndeleted,
	    mbox.octets - mbox.deleted_octets);
}

/* Up to `max' live messages from number `first' on, one LISTING. */
static void
h_list(struct ipc_msg *m)
{
	uint32_t first = 0, max = 0, nums[IPC_LIST_MAX], n = 0, next = 0, i;
	const struct mbox_msg *msg;
	struct ipc_msg r;

	if (ipc_get_u32(m, &first) == -1 || ipc_get_u32(m, &max) == -1)
		m->error = 1;
	check_end(m);
	if (first == 0)
		first = 1;
	if (max == 0 || max > IPC_LIST_MAX)
		max = IPC_LIST_MAX;
	for (i = first; i <= mbox.count && n < max; i++)
		if (!mailbox_msg(&mbox, i)->deleted)
			nums[n++] = i;
	for (; n > 0 && i <= mbox.count; i++)
		if (!mailbox_msg(&mbox, i)->deleted) {
			next = nums[n - 1] + 1;
			break;
		}
	ipc_msg_init(&r, IPC_MBOX_LISTING, 0);
	ipc_put_u32(&r, next);
	ipc_put_u32(&r, n);
	for (i = 0; i < n; i++) {
		msg = mailbox_msg(&mbox, nums[i]);
		ipc_put_u32(&r, nums[i]);
		ipc_put_u64(&r, msg->octets);
		ipc_put_str(&r, msg->uidl);
	}
	send_session(&r);
}

/* Hands the session message n; a TOP (lines >= 0) is recorded as such. */
static void
hand_out(uint32_t n, int64_t lines)
{
	char num[16], size[24], nlines[24];
	const struct mbox_msg *msg;
	struct ipc_msg r;
	int code, fd;

	if ((code = mailbox_open_msg(&mbox, n, &fd)) != MBOX_OK) {
		send_status(code, 0, 0);
		return;
	}
	msg = mailbox_msg(&mbox, n);
	/* recorded before the session has it: what left the mailbox */
	snprintf(num, sizeof(num), "%u", n);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)msg->octets);
	snprintf(nlines, sizeof(nlines), "%lld", (long long)lines);
	audit_report(&audit_chan, "mail.retrieve", "cmd", lines < 0 ? "RETR" :
	    "TOP", "msg", num, "uidl", msg->uidl, "size", size,
	    lines < 0 ? NULL : "lines", nlines, (char *)NULL);
	ipc_msg_init(&r, IPC_MBOX_FILE, 0);
	ipc_put_u32(&r, n);
	ipc_put_u64(&r, msg->octets);
	ipc_put_u32(&r, 0);
	ipc_put_str(&r, msg->uidl);
	r.fds[0] = fd;
	r.nfds = 1;
	send_session(&r);
	close(fd);
	log_info("user %s: message %u (%s, %llu octets) handed out",
	    user_log, n, msg->uidl, (unsigned long long)msg->octets);
}

static void
h_retr(struct ipc_msg *m)
{
	hand_out(get_number(m), -1);
}

static void
h_top(struct ipc_msg *m)
{
	uint32_t n = 0;
	uint64_t lines = 0;

	if (ipc_get_u32(m, &n) == -1 || ipc_get_u64(m, &lines) == -1 ||
	    lines > INT64_MAX)
		m->error = 1;
	check_end(m);
	hand_out(n, (int64_t)lines);
}

static void
h_dele(struct ipc_msg *m)
{
	uint32_t n = get_number(m);
	int code;

	if ((code = mailbox_mark(&mbox, n)) != MBOX_OK) {
		send_status(code, 0, 0);
		return;
	}
	send_status(MBOX_OK, mbox.count - mbox.ndeleted,
	    mbox.octets - mbox.deleted_octets);
}

static void
h_rset(struct ipc_msg *m)
{
	check_end(m);
	mailbox_unmark_all(&mbox);
	send_status(MBOX_OK, mbox.count, mbox.octets);
}

/* how: "quit" (UPDATE ran) or "no_update" (marks discarded). */
static void
audit_close(const char *how, uint32_t deleted, uint32_t discarded)
{
	char n[16], d[16];

	snprintf(n, sizeof(n), "%u", deleted);
	snprintf(d, sizeof(d), "%u", discarded);
	audit_report(&audit_chan, "mailbox.close", "how", how, "deleted", n,
	    "deletions_discarded", d, (char *)NULL);
}

/* One record per message UPDATE removed, or failed to remove. */
static void
audit_deletions(uint32_t done)
{
	char num[16], size[24];
	const struct mbox_msg *msg;
	uint32_t i;

	for (i = 1; i <= mbox.count; i++) {
		msg = mailbox_msg(&mbox, i);
		if (!msg->deleted)
			continue;
		snprintf(num, sizeof(num), "%u", i);
		snprintf(size, sizeof(size), "%llu",
		    (unsigned long long)msg->octets);
		audit_report(&audit_chan, "mail.delete", "outcome",
		    msg->expunged ? "success" : "failure", "msg", num, "uidl",
		    msg->uidl, "size", size, (char *)NULL);
	}
	audit_close("quit", done, 0);
}

/* The UPDATE state (RFC 1939 section 6): the only place mail is deleted. */
static void
h_update(struct ipc_msg *m)
{
	uint32_t done;
	int code;

	check_end(m);
	code = mailbox_expunge(&mbox, &done);
	log_info("user %s: %u messages deleted", user_log, done);
	audit_deletions(done);
	/*
	 * Unlock before answering: the client may log in again as soon as
	 * it sees the reply to QUIT, before this process has exited.
	 */
	if (lock_fd != -1)
		flock(lock_fd, LOCK_UN);
	send_status(code, done, 0);
	finish(0);
}

static void
session_event(void)
{
	struct ipc_msg m;
	int r;

	for (;;) {
		if ((r = ipc_recv(&session_chan, &m)) == IPC_AGAIN)
			return;
		if (r != IPC_OK) {
			log_info("user %s: session ended without UPDATE, "
			    "%u deletions discarded", user_log,
			    mbox.ndeleted);
			audit_close("no_update", 0, mbox.ndeleted);
			exit(0);
		}
		if (handlers[m.type] == NULL) {
			log_warnx("user %s: unexpected %s from the session",
			    user_log, ipc_type_name(m.type));
			exit(1);
		}
		handlers[m.type](&m);
	}
}

/* After setup the parent has nothing more to say; it may only go away. */
static void
parent_event(void)
{
	struct ipc_msg m;
	int r;

	if ((r = ipc_recv(&parent_chan, &m)) == IPC_AGAIN)
		return;
	if (r == IPC_OK) {
		log_warnx("user %s: unexpected %s from the parent", user_log,
		    ipc_type_name(m.type));
		ipc_msg_close_fds(&m);
		exit(1);
	}
	ipc_chan_close(&parent_chan);
	log_debug("user %s: parent gone", user_log);
	exit(0);
}

static void __attribute__((noreturn))
serve(void)
{
	struct pollfd pfd[2];

	for (;;) {
		pfd[0].fd = parent_chan.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = session_chan.fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents)
			parent_event();
		if (pfd[1].revents)
			session_event();
	}
}

/* fd 3 and fd 4 must be the parent's sockets; nothing else stays open. */
static void
init_channels(void)
{
	struct stat st;
	int fd;

	for (fd = PARENT_FD; fd <= SESSION_FD; fd++) {
		if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
			fatalx("fd %d is not a channel", fd);
		if (fd_set_cloexec(fd) == -1 || fd_set_nonblock(fd) == -1)
			fatal("fd %d", fd);
	}
	fd_close_from(SESSION_FD + 1);
	ipc_chan_init(&parent_chan, PARENT_FD, ROLE_STORAGED, ROLE_PARENT,
	    "parent");
	ipc_chan_init(&session_chan, SESSION_FD, ROLE_STORAGED, ROLE_SESSION,
	    "session");
	log_to_channel(&parent_chan);
	if (ipc_send_hello(&parent_chan) == -1)
		fatal("HELLO to the parent");
	if (ipc_send_hello(&session_chan) == -1) {
		log_warn("HELLO to the session");
		exit(0);
	}
}

int
main(int argc, char *argv[])
{
	int ch, verbose = 0;

	log_init("pop3d-storaged", 1, 0);
	while ((ch = getopt(argc, argv, "v")) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_set_verbose(verbose);
	/*
	 * RLIMIT_FSIZE 0 forbids writing files; a write to stderr that
	 * happens to be a file (a log fallback, a sanitizer report) should
	 * fail, not kill us.  Likewise a stderr pipe nobody reads.
	 */
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	init_channels();
	if (sodium_init() < 0)
		fatalx("libsodium initialisation failed");
	wait_setup();
	open_mailbox();
	log_info("user %s: mailbox ready, %u messages, %llu octets",
	    user_log, mbox.count, (unsigned long long)mbox.octets);
	audit_opened();
	send_status(MBOX_OK, mbox.count, mbox.octets);
	/* the scan is done: from here on only the request loop runs */
	sandbox_enter(ROLE_STORAGED, -1);
#ifdef POP3D_TEST_HOOKS
	sandbox_test_user("storaged", setup.user);
#endif
	serve();
}
