/*
 * The parent's side of the audit trail: it opens the audit file and the
 * chain state's directory (it is root; the writer will not be), starts
 * pop3d-audit with them and restarts it if it dies, and reports what only
 * it sees: connections accepted and refused, bans, children killed by
 * their sandbox, authd restarts, reloads.  An event is a name and plain
 * key/value pairs; the writer escapes them and stamps "role":"parent"
 * from the channel.  While the writer is down, events are logged as lost.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_send.h"
#include "log.h"
#include "parent.h"
#include "util.h"

#define AUDIT_RESTART_MS	1000
#define AUDIT_START_MS		10000	/* from spawn to its HELLO */

static int
open_files(struct parent *p, int fds[2])
{
	char dir[PATH_MAX];

	fds[0] = open(p->conf.audit_file, O_RDWR | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fds[0] == -1) {
		log_warn("audit_file %s", p->conf.audit_file);
		return -1;
	}
	strlcpy(dir, p->conf.audit_state, sizeof(dir));
	fds[1] = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fds[1] == -1) {
		log_warn("audit_state directory %s", dir);
		close(fds[0]);
		return -1;
	}
	return 0;
}

/* The writer went away (reap): start another after a pause. */
void
parent_audit_gone(struct parent *p, int quitting)
{
	p->audit = NULL;
	p->audit_restart_at = monotonic_ms() + AUDIT_RESTART_MS;
	if (!quitting)
		log_warnx("audit writer exited; restarting it");
}

/*
 * Reports an event: parent_audit(p, "conn.accept", "src", "192.0.2.1",
 * ..., NULL), key/value strings in pairs.
 */
void
parent_audit(struct parent *p, const char *event, ...)
{
	va_list ap;
	int r = -1;

	if (p->conf.audit_file[0] == '\0')
		return;
	if (p->audit != NULL) {
		va_start(ap, event);
		r = audit_vsend(&p->audit->chan, AUDIT_SEND_WAIT_PARENT, event,
		    ap);
		va_end(ap);
	}
	if (r == -1)
		log_warnx("AUDIT LOST: %s (the audit writer is not running)",
		    event);
}

/*
 * A new audit channel for child `pid' of `role': the writer gets one end,
 * tagged with the role, the pid and what we know of the connection it
 * serves (ctx, NULL for authd), which it stamps on every record from that
 * channel; the other end is returned for the child, or -1 when there is
 * no writer to talk to.
 */
int
parent_audit_channel(struct parent *p, int role, pid_t pid,
    const struct child *ctx, const char *user)
{
	struct ipc_msg m;
	int sv[2];

	if (p->audit == NULL || p->audit->chan.fd == -1 ||
	    ipc_socketpair(sv) == -1)
		return -1;
	ipc_msg_init(&m, IPC_AUDIT_CHANNEL, 0);
	ipc_put_u32(&m, (uint32_t)role);
	ipc_put_u32(&m, (uint32_t)pid);
	ipc_put_u32(&m, ctx != NULL ? ctx->session : 0);
	ipc_put_str(&m, ctx != NULL ? ctx->peer : "");
	ipc_put_u32(&m, ctx != NULL ? ctx->peer_port : 0);
	ipc_put_str(&m, ctx != NULL ? ctx->local : "");
	ipc_put_u32(&m, ctx != NULL ? ctx->local_port : 0);
	ipc_put_str(&m, user != NULL ? user : "");
	m.fds[0] = sv[0];
	m.nfds = 1;
	if (child_send(p->audit, &m) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[0]);
	return sv[1];
}

/*
 * Gives child `c' its end of a new audit channel; `ctx' is the session it
 * serves.  Without a writer it gets none, and says nothing: the parent
 * has logged that the writer is down.
 */
void
parent_audit_link(struct parent *p, struct child *c, const struct child *ctx,
    const char *user)
{
	struct ipc_msg m;
	int fd;

	if (c == NULL ||
	    (fd = parent_audit_channel(p, c->role, c->pid, ctx, user)) == -1)
		return;
	ipc_msg_init(&m, IPC_AUDIT_LINK, 0);
	m.fds[0] = fd;
	m.nfds = 1;
	(void)child_send(c, &m);
	close(fd);
}

/* authd (long-lived) gets a channel to each new writer, and the writer
 * one to each new authd. */
void
parent_audit_rewire_authd(struct parent *p)
{
	parent_audit_link(p, p->authd, NULL, NULL);
}

/*
 * May a login go ahead?  With `audit required', only while the writer runs
 * and stores what it is sent: a login it could not record is not served.
 */
int
parent_audit_ready(struct parent *p)
{
	if (!p->conf.audit_required || p->conf.audit_file[0] == '\0')
		return 1;
	return p->audit != NULL && p->audit->state == CH_READY &&
	    !p->audit_failing;
}

/* What the writer tells us: whether it stores records, who to cut off,
 * when to rotate. */
void
parent_audit_input(struct parent *p, struct ipc_msg *m)
{
	uint32_t v;
	size_t i;

	if (m->type == IPC_AUDIT_ROTATE_ASK) {
		if (ipc_get_end(m) == 0)
			parent_audit_rotate(p, "size");
		return;
	}
	if (ipc_get_u32(m, &v) == -1 || ipc_get_end(m) == -1)
		return;
	if (m->type == IPC_AUDIT_STATUS) {
		if (v == 0 && !p->audit_failing)
			log_warnx("AUDIT FAILURE: the audit trail is not "
			    "being written%s", p->conf.audit_required ?
			    "; refusing new logins (audit required)" : "");
		else if (v != 0 && p->audit_failing)
			log_info("audit trail is being written again");
		p->audit_failing = v == 0;
		return;
	}
	/* IPC_AUDIT_CUTOFF: a child sent an event it may not; the writer
	 * has recorded that, we end the child */
	for (i = 0; v != 0 && i < p->nchildren; i++)
		if (p->children[i].state != CH_FREE &&
		    p->children[i].pid == (pid_t)v &&
		    p->children[i].role != ROLE_AUDIT) {
			log_warnx("%s: cut off for reporting an audit event "
			    "it may not", p->children[i].label);
			child_kill(&p->children[i], SIGKILL);
		}
}

/*
 * Rotation (SIGUSR1, or the writer at audit_rotate_size): the file is
 * renamed to NAME.YYYYMMDDTHHMMSSZ (never over an existing file), a new
 * one is created, and the writer is handed it; the writer ends the old
 * file with a seal and starts the new one with the record that links the
 * two.  The old name is the writer's to record.
 */
void
parent_audit_rotate(struct parent *p, const char *why)
{
	char old[PATH_MAX], stamp[32];
	struct ipc_msg m;
	struct tm tm;
	time_t now = time(NULL);
	int fd, i, n;

	if (p->conf.audit_file[0] == '\0' || p->audit == NULL) {
		log_warnx("audit rotation (%s): no audit writer running", why);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		n = i == 0 ? snprintf(old, sizeof(old), "%s.%s",
		    p->conf.audit_file, stamp) : snprintf(old, sizeof(old),
		    "%s.%s.%d", p->conf.audit_file, stamp, i);
		if (n < 0 || (size_t)n >= sizeof(old)) {
			log_warnx("audit rotation: name too long");
			return;
		}
		if (linkat(AT_FDCWD, p->conf.audit_file, AT_FDCWD, old, 0) == 0)
			break;
		if (errno != EEXIST) {
			log_warn("audit rotation: %s -> %s",
			    p->conf.audit_file, old);
			return;
		}
	}
	if (i == 100 || unlink(p->conf.audit_file) == -1) {
		log_warn("audit rotation: %s", p->conf.audit_file);
		return;
	}
	fd = open(p->conf.audit_file, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("audit rotation: new %s", p->conf.audit_file);
		if (linkat(AT_FDCWD, old, AT_FDCWD, p->conf.audit_file, 0) == 0)
			(void)unlink(old);
		return;
	}
	ipc_msg_init(&m, IPC_AUDIT_ROTATE, 0);
	ipc_put_str(&m, old);
	ipc_put_str(&m, why);
	m.fds[0] = fd;
	m.nfds = 1;
	if (child_send(p->audit, &m) == -1)
		log_warnx("audit rotation: the writer did not take the new "
		    "file; it goes on writing %s", old);
	else
		log_info("audit file rotated (%s): the old one is %s", why,
		    old);
	close(fd);
}

/* Starts the writer when there is an audit trail and it is not running;
 * one that never says it is ready (stuck before its HELLO) is killed, so
 * that `audit required' cannot be held up by it for good. */
void
parent_audit_start(struct parent *p)
{
	int fds[2];

	if (p->audit != NULL && p->audit->state == CH_STARTING &&
	    p->audit->pid != 0 &&
	    monotonic_ms() - p->audit->started_ms > AUDIT_START_MS) {
		log_warnx("audit writer pid %d not ready after %d s; killing "
		    "it", (int)p->audit->pid, AUDIT_START_MS / 1000);
		child_kill(p->audit, SIGKILL);
		p->audit->started_ms = monotonic_ms();	/* once */
	}

	if (p->conf.audit_file[0] == '\0' || p->audit != NULL ||
	    monotonic_ms() < p->audit_restart_at)
		return;
	p->audit_restart_at = monotonic_ms() + AUDIT_RESTART_MS;
	if (open_files(p, fds) == -1)
		return;
	p->audit = child_spawn(p, ROLE_AUDIT, fds, 2);
	close(fds[0]);
	close(fds[1]);
	if (p->audit != NULL) {
		log_info("audit writer pid %d started", (int)p->audit->pid);
		p->audit_failing = 0;
		parent_audit_rewire_authd(p);
	}
}
