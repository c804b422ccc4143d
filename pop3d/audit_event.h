/* The audit writer's event formatting and start-up recovery (audit_event.c). */
#ifndef POP3D_AUDIT_EVENT_H
#define POP3D_AUDIT_EVENT_H

#include <sys/types.h>

#include <stddef.h>

#include "audit_chain.h"
#include "ipc.h"

int	audit_event_fields(int, pid_t, struct ipc_msg *, char *, size_t,
	    char *, size_t);
void	audit_recover(struct audit_chain *, int, int, const char *);

#endif
