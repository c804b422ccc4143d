/* Reporting an event to the audit writer (audit_send.c). */
#ifndef POP3D_AUDIT_SEND_H
#define POP3D_AUDIT_SEND_H

#include <stdarg.h>

#include "ipc.h"

int	audit_vsend(struct ipc_chan *, const char *, va_list);
int	audit_send(struct ipc_chan *, const char *, ...)
	    __attribute__((sentinel));

#endif
