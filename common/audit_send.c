/*
 * What every process uses to report an event to the audit writer over its
 * own channel: an event name and plain key/value strings, NULL-terminated
 * in pairs.  Escaping, the sender's role and the chain are the writer's
 * business; a sender cannot do more than name keys and values.  A full
 * channel (the writer is behind, syncing) is waited on for a bounded time
 * rather than the event dropped; only then is it reported lost.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>

#include "audit_send.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

#define PAIRS_MAX	24

static int
send_waiting(struct ipc_chan *c, struct ipc_msg *m, int wait_ms)
{
	uint64_t deadline = monotonic_ms() + (uint64_t)wait_ms, now;
	struct pollfd pfd;

	while (ipc_send(c, m) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ENOBUFS && errno != EINTR)
			return -1;
		if ((now = monotonic_ms()) >= deadline)
			return -1;
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			return -1;
	}
	return 0;
}

int
audit_vsend(struct ipc_chan *c, int wait_ms, const char *event, va_list ap)
{
	const char *kv[2 * PAIRS_MAX];
	struct ipc_msg m;
	uint32_t n = 0, i;

	while (n < 2 * PAIRS_MAX && (kv[n] = va_arg(ap, const char *)) !=
	    NULL)
		n++;
	if (c->fd == -1)
		return -1;
	ipc_msg_init(&m, IPC_AUDIT_EVENT, 0);
	ipc_put_str(&m, event);
	ipc_put_u32(&m, n / 2);
	for (i = 0; i + 1 < n; i += 2) {
		ipc_put_str(&m, kv[i]);
		ipc_put_str(&m, kv[i + 1]);
	}
	return send_waiting(c, &m, wait_ms);
}

int
audit_send(struct ipc_chan *c, const char *event, ...)
{
	va_list ap;
	int r;

	va_start(ap, event);
	r = audit_vsend(c, AUDIT_SEND_WAIT_MS, event, ap);
	va_end(ap);
	return r;
}

/*
 * audit_send() for a child with a channel of its own (session, storaged):
 * no channel means no audit trail is configured, or the writer was down
 * when we started, which the parent has logged; a send that fails is
 * logged here as lost.
 */
void
audit_report(struct ipc_chan *c, const char *event, ...)
{
	va_list ap;
	int r;

	if (c->fd == -1)
		return;
	va_start(ap, event);
	r = audit_vsend(c, AUDIT_SEND_WAIT_MS, event, ap);
	va_end(ap);
	if (r == -1)
		log_warn("AUDIT LOST: %s", event);
}

/* The child's end of its audit channel, from an IPC_AUDIT_LINK. */
int
audit_link(struct ipc_chan *c, int role, struct ipc_msg *m)
{
	ipc_chan_close(c);
	if (ipc_get_end(m) == -1 || fd_set_nonblock(m->fds[0]) == -1) {
		ipc_msg_close_fds(m);
		return -1;
	}
	ipc_chan_init(c, m->fds[0], role, ROLE_AUDIT, "audit");
	if (ipc_send_hello(c) == -1) {
		ipc_chan_close(c);
		return -1;
	}
	return 0;
}
