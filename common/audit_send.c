/*
 * What every process uses to report an event to the audit writer over its
 * own channel: an event name and plain key/value strings, NULL-terminated
 * in pairs.  Escaping, the sender's role and the chain are the writer's
 * business; a sender cannot do more than name keys and values.
 */
#include <stdarg.h>

#include "audit_send.h"
#include "ipc.h"

#define PAIRS_MAX	24

int
audit_vsend(struct ipc_chan *c, const char *event, va_list ap)
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
	return ipc_send(c, &m);
}

int
audit_send(struct ipc_chan *c, const char *event, ...)
{
	va_list ap;
	int r;

	va_start(ap, event);
	r = audit_vsend(c, event, ap);
	va_end(ap);
	return r;
}
