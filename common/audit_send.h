/* Reporting an event to the audit writer (audit_send.c). */
#ifndef POP3D_AUDIT_SEND_H
#define POP3D_AUDIT_SEND_H

#include <stdarg.h>

#include "ipc.h"

#define AUDIT_SEND_WAIT_MS	2000	/* longest wait on a full channel */
#define AUDIT_SEND_WAIT_PARENT	100	/* the parent cannot stall long */

int	audit_vsend(struct ipc_chan *, int, const char *, va_list);
int	audit_send(struct ipc_chan *, const char *, ...)
	    __attribute__((sentinel));
void	audit_report(struct ipc_chan *, const char *, ...)
	    __attribute__((sentinel));
int	audit_link(struct ipc_chan *, int, struct ipc_msg *);

#endif
