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
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "audit_send.h"
#include "log.h"
#include "parent.h"
#include "util.h"

#define AUDIT_RESTART_MS	1000

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
		r = audit_vsend(&p->audit->chan, event, ap);
		va_end(ap);
	}
	if (r == -1)
		log_warnx("AUDIT LOST: %s (the audit writer is not running)",
		    event);
}

/*
 * A new audit channel for child `c' (just spawned, so its pid is known):
 * the writer gets one end, tagged with c's role and pid; the other end is
 * returned for the child, or -1 when there is no writer to talk to.
 */
int
parent_audit_channel(struct parent *p, int role, pid_t pid)
{
	struct ipc_msg m;
	int sv[2];

	if (p->audit == NULL || p->audit->chan.fd == -1 ||
	    ipc_socketpair(sv) == -1)
		return -1;
	ipc_msg_init(&m, IPC_AUDIT_CHANNEL, 0);
	ipc_put_u32(&m, (uint32_t)role);
	ipc_put_u32(&m, (uint32_t)pid);
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

/* authd (long-lived) gets a channel to each new writer, and the writer
 * one to each new authd. */
void
parent_audit_rewire_authd(struct parent *p)
{
	struct ipc_msg m;
	int fd;

	if (p->authd == NULL ||
	    (fd = parent_audit_channel(p, ROLE_AUTHD, p->authd->pid)) == -1)
		return;
	ipc_msg_init(&m, IPC_AUTHD_AUDIT, 0);
	m.fds[0] = fd;
	m.nfds = 1;
	(void)child_send(p->authd, &m);
	close(fd);
}

/* Starts the writer when there is an audit trail and it is not running. */
void
parent_audit_start(struct parent *p)
{
	int fds[2];

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
		parent_audit_rewire_authd(p);
	}
}
