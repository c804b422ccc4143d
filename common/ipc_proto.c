/*
 * The permission table of the channels: which role may send which message
 * to which role, with how many descriptors and how much payload.  Reviewing
 * what a compromised process can ask of its peers starts and ends here.
 */
#include "ipc_proto.h"

#define ANY	ROLE_NONE
#define S	IPC_MAX_STR

/* string fields take 2 bytes of length plus their bytes */
static const struct ipc_type_info ipc_types[IPC_TYPE_MAX] = {
	[IPC_HELLO] = { "HELLO", ANY, ANY, 0, 8, 8 },
	[IPC_LOG] = { "LOG", ANY, ROLE_PARENT, 0, 6, 4 + 2 + S },
	[IPC_SESSION_CLIENT] = { "SESSION_CLIENT", ROLE_PARENT, ROLE_SESSION,
	    2, 16, 2 * (2 + 64) + 12 },
	[IPC_SESSION_STORAGE] = { "SESSION_STORAGE", ROLE_PARENT,
	    ROLE_SESSION, 1, 2, 2 + S },
	[IPC_SESSION_STORAGE_FAIL] = { "SESSION_STORAGE_FAIL", ROLE_PARENT,
	    ROLE_SESSION, 0, 4, 4 },
	[IPC_AUTHD_SESSION] = { "AUTHD_SESSION", ROLE_PARENT, ROLE_AUTHD,
	    1, 2, 2 + 64 },
	[IPC_AUTHD_GRANT] = { "AUTHD_GRANT", ROLE_AUTHD, ROLE_PARENT,
	    0, 4, 2 * (2 + S) },
	[IPC_AUTH_REQUEST] = { "AUTH_REQUEST", ROLE_SESSION, ROLE_AUTHD,
	    0, 6, 3 * (2 + S) },
	[IPC_AUTH_RESULT] = { "AUTH_RESULT", ROLE_AUTHD, ROLE_SESSION,
	    0, 4, 4 },
	[IPC_STORAGE_SETUP] = { "STORAGE_SETUP", ROLE_PARENT, ROLE_STORAGED,
	    0, 22, 3 * (2 + S) + 16 },
	[IPC_MBOX_STAT] = { "MBOX_STAT", ROLE_SESSION, ROLE_STORAGED,
	    0, 0, 0 },
	[IPC_MBOX_LIST] = { "MBOX_LIST", ROLE_SESSION, ROLE_STORAGED,
	    0, 8, 8 },
	[IPC_MBOX_LISTING] = { "MBOX_LISTING", ROLE_STORAGED, ROLE_SESSION,
	    0, 8, IPC_MAX_PAYLOAD },
	[IPC_MBOX_RETR] = { "MBOX_RETR", ROLE_SESSION, ROLE_STORAGED,
	    0, 4, 4 },
	[IPC_MBOX_FILE] = { "MBOX_FILE", ROLE_STORAGED, ROLE_SESSION,
	    1, 18, 18 + 70 },
	[IPC_MBOX_DELE] = { "MBOX_DELE", ROLE_SESSION, ROLE_STORAGED,
	    0, 4, 4 },
	[IPC_MBOX_RSET] = { "MBOX_RSET", ROLE_SESSION, ROLE_STORAGED,
	    0, 0, 0 },
	[IPC_MBOX_UPDATE] = { "MBOX_UPDATE", ROLE_SESSION, ROLE_STORAGED,
	    0, 0, 0 },
	[IPC_MBOX_STATUS] = { "MBOX_STATUS", ROLE_STORAGED, ROLE_SESSION,
	    0, 16, 16 },
	[IPC_AUTHD_BAN] = { "AUTHD_BAN", ROLE_AUTHD, ROLE_PARENT,
	    0, 8, 2 + 64 + 4 + 2 + 64 },
	[IPC_AUDIT_EVENT] = { "AUDIT_EVENT", ANY, ROLE_AUDIT,
	    0, 7, IPC_MAX_PAYLOAD },
	[IPC_AUDIT_CHANNEL] = { "AUDIT_CHANNEL", ROLE_PARENT, ROLE_AUDIT,
	    1, 26, 20 + 3 * 2 + 2 * 64 + S },
	[IPC_AUDIT_LINK] = { "AUDIT_LINK", ROLE_PARENT, ANY, 1, 0, 0 },
	[IPC_AUDIT_STATUS] = { "AUDIT_STATUS", ROLE_AUDIT, ROLE_PARENT,
	    0, 4, 4 },
	[IPC_MBOX_TOP] = { "MBOX_TOP", ROLE_SESSION, ROLE_STORAGED,
	    0, 12, 12 },
	[IPC_AUDIT_CUTOFF] = { "AUDIT_CUTOFF", ROLE_AUDIT, ROLE_PARENT,
	    0, 4, 4 },
	[IPC_AUDIT_ROTATE_ASK] = { "AUDIT_ROTATE_ASK", ROLE_AUDIT,
	    ROLE_PARENT, 0, 0, 0 },
	[IPC_AUDIT_ROTATE] = { "AUDIT_ROTATE", ROLE_PARENT, ROLE_AUDIT,
	    1, 2, 2 + S },
};

static const char *role_names[ROLE_MAX] = {
	[ROLE_NONE] = "none",
	[ROLE_PARENT] = "parent",
	[ROLE_SESSION] = "session",
	[ROLE_AUTHD] = "authd",
	[ROLE_STORAGED] = "storaged",
	[ROLE_AUDIT] = "audit",
};

const struct ipc_type_info *
ipc_type_info(unsigned int type)
{
	if (type == IPC_NONE || type >= IPC_TYPE_MAX)
		return NULL;
	return &ipc_types[type];
}

const char *
ipc_type_name(unsigned int type)
{
	const struct ipc_type_info *ti = ipc_type_info(type);

	return ti ? ti->name : "UNKNOWN";
}

const char *
ipc_role_name(unsigned int role)
{
	return role < ROLE_MAX ? role_names[role] : "unknown";
}

/* May a process of role `from' send `type' to a process of role `to'? */
int
ipc_type_allowed(unsigned int type, int from, int to)
{
	const struct ipc_type_info *ti = ipc_type_info(type);

	if (ti == NULL)
		return 0;
	if (ti->from != ANY && ti->from != from)
		return 0;
	if (ti->to != ANY && ti->to != to)
		return 0;
	if (type == IPC_LOG && from == ROLE_PARENT)
		return 0;
	return 1;
}
