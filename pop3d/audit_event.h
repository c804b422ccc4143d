/* The audit writer's event formatting and start-up recovery (audit_event.c). */
#ifndef POP3D_AUDIT_EVENT_H
#define POP3D_AUDIT_EVENT_H

#include <sys/types.h>

#include <stddef.h>

#include "audit_chain.h"
#include "ipc.h"
#include "username.h"

/* What the parent told the writer about a channel's sender. */
struct audit_source {
	uint32_t	session;	/* 0: not a session's */
	char		src[64], dst[64];
	uint32_t	src_port, dst_port;
	char		user[USERNAME_MAX];	/* "" until known */
};

int	audit_event_fields(int, pid_t, const struct audit_source *,
	    const struct audit_source *(*)(uint32_t), struct ipc_msg *,
	    char *, size_t, char *, size_t);
void	audit_recover(struct audit_chain *, int, int, const char *);

#endif
