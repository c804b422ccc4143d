/*
 * What authd tells the audit writer: each login's outcome, with the
 * session, the client address, the mechanism and, for a failure, the
 * reason class and the name as given (escaped by us, bounded) -- never a
 * password.  The channel comes from the parent (audit_link()), anew
 * whenever the writer restarts; a report that cannot be sent is logged as lost, and the login
 * goes on: the writer's absence is the parent's to act on.
 */
#include <stdio.h>

#include "audit_send.h"
#include "log.h"
#include "report.h"
#include "util.h"

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
		r = audit_send(c, event, "src", src, "session", sid, "mech",
		    mech, "reason", why, "user", user, (char *)NULL);
	else
		r = audit_send(c, event, "src", src, "session", sid, "mech",
		    mech, "user", user, (char *)NULL);
	if (r == -1)
		log_warnx("AUDIT LOST: %s for session %u", event, session);
}
