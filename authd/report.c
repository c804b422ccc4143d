/*
 * What authd tells the audit writer: each login's outcome, with the
 * session, the client address, the mechanism and, for a failure, the
 * reason class and the name as given (escaped by us, bounded) -- never a
 * password.  The channel comes from the parent, anew whenever the writer
 * restarts; a report that cannot be sent is logged as lost, and the login
 * goes on: the writer's absence is the parent's to act on.
 */
#include <stdio.h>

#include "audit_send.h"
#include "log.h"
#include "report.h"
#include "util.h"

/* The parent hands us a (new) channel to the audit writer. */
void
audit_channel(struct ipc_chan *c, struct ipc_msg *m)
{
	ipc_chan_close(c);
	if (fd_set_nonblock(m->fds[0]) == -1) {
		ipc_msg_close_fds(m);
		return;
	}
	ipc_chan_init(c, m->fds[0], ROLE_AUTHD, ROLE_AUDIT, "audit");
	if (ipc_send_hello(c) == -1)
		ipc_chan_close(c);
}

void
report_auth(struct ipc_chan *c, int configured, const char *event,
    uint32_t session, const char *user, const char *src, const char *mech,
    const char *why)
{
	char sid[16];
	int r;

	if (c->fd == -1) {
		if (configured)
			log_warnx("AUDIT LOST: %s for session %u (no channel "
			    "to the audit writer)", event, session);
		return;
	}
	snprintf(sid, sizeof(sid), "%u", session);
	if (why != NULL)
		r = audit_send(c, event, "session", sid, "user", user, "src",
		    src, "mech", mech, "reason", why, (char *)NULL);
	else
		r = audit_send(c, event, "session", sid, "user", user, "src",
		    src, "mech", mech, (char *)NULL);
	if (r == -1)
		log_warnx("AUDIT LOST: %s for session %u", event, session);
}
