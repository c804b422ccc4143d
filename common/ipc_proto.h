/*
 * The process graph, written down once: every role, every message type, who
 * may send it to whom, how many descriptors ride with it and how large its
 * payload may be.  ipc.c enforces this table on every send and receive, so a
 * compromised peer can only ever say what its role is allowed to say.
 *
 *   parent  <-> session   fd 3 in the session (client handoff, storage grant)
 *   parent  <-> authd     fd 3 in authd (session channels, login grants)
 *   parent  <-> storaged  fd 3 in storaged (setup, log lines)
 *   session <-> authd     one socketpair per connection, made by the parent
 *   session <-> storaged  one socketpair per login, made by the parent, fd 4
 *                         in storaged
 */
#ifndef POP3D_IPC_PROTO_H
#define POP3D_IPC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define IPC_VERSION		1

enum ipc_role {
	ROLE_NONE = 0,
	ROLE_PARENT,
	ROLE_SESSION,
	ROLE_AUTHD,
	ROLE_STORAGED,
	ROLE_AUDIT,
	ROLE_MAX
};

enum ipc_type {
	IPC_NONE = 0,
	/* any -> any: first message on a channel; u32 version, u32 role */
	IPC_HELLO,
	/* child -> parent: u32 syslog priority, str text (already escaped) */
	IPC_LOG,

	/* parent -> session, fds: client socket, authd channel.
	 * str peer address, u32 peer port, str local address, u32 local port,
	 * u32 listener flags */
	IPC_SESSION_CLIENT,
	/* parent -> session, fd: storaged channel.  str canonical user */
	IPC_SESSION_STORAGE,
	/* parent -> session: u32 mbox status code (why no storaged) */
	IPC_SESSION_STORAGE_FAIL,

	/* parent -> authd, fd: authd end of a session channel.
	 * str peer address */
	IPC_AUTHD_SESSION,
	/* authd -> parent: str canonical user, str mailbox directory */
	IPC_AUTHD_GRANT,

	/* session -> authd: str mechanism, str user, str password */
	IPC_AUTH_REQUEST,
	/* authd -> session: u32 auth result */
	IPC_AUTH_RESULT,

	/* parent -> storaged: str user, str mailbox directory, str empty
	 * directory (chroot when the mailbox does not exist yet), u32 uid,
	 * u32 gid, u32 max messages, u32 flags (0) */
	IPC_STORAGE_SETUP,

	/* session -> storaged: no payload */
	IPC_MBOX_STAT,
	/* session -> storaged: u32 first message number, u32 max entries */
	IPC_MBOX_LIST,
	/* storaged -> session: u32 next number (0: end), u32 n, then n times
	 * u32 number, u64 octets, str uidl */
	IPC_MBOX_LISTING,
	/* session -> storaged: u32 message number */
	IPC_MBOX_RETR,
	/* storaged -> session, fd: message file (read-only).
	 * u32 number, u64 octets as sent, u32 flags (MBOX_FILE_*), str uidl */
	IPC_MBOX_FILE,
	/* session -> storaged: u32 message number */
	IPC_MBOX_DELE,
	/* session -> storaged: no payload */
	IPC_MBOX_RSET,
	/* session -> storaged: no payload; apply deletions (UPDATE state) */
	IPC_MBOX_UPDATE,
	/* storaged -> session: u32 mbox status, u32 count, u64 octets.
	 * The one reply to READY (unsolicited, first), STAT, RETR failures,
	 * DELE, RSET and UPDATE. */
	IPC_MBOX_STATUS,

	/* authd -> parent: str source address (IPv4, or IPv6 /64 network),
	 * u32 seconds, str reason.  Refuse that source's connections. */
	IPC_AUTHD_BAN,

	/* any role -> audit writer, on that role's own channel to it: str
	 * event, u32 n, then n times str key, str value (plain text: the
	 * writer escapes it).  The writer adds who sent it from the channel
	 * it came in on, and refuses events that role may not report. */
	IPC_AUDIT_EVENT,
	/* parent -> audit writer, fd: the writer's end of a child's audit
	 * channel.  u32 role, u32 pid, u32 session (0: none), str client
	 * address, u32 client port, str local address, u32 local port, str
	 * user ("" when not known): what the writer stamps on every record
	 * that comes in on the channel */
	IPC_AUDIT_CHANNEL,
	/* parent -> authd, session, storaged, fd: the child's end of its
	 * audit channel (authd gets a new one when the writer restarts) */
	IPC_AUDIT_LINK,
	/* audit writer -> parent: u32 1 when records are being stored, 0
	 * when they are not (disk full, file removed) */
	IPC_AUDIT_STATUS,
	/* session -> storaged: u32 message number, u64 body lines (TOP);
	 * answered as IPC_MBOX_RETR, recorded as a TOP */
	IPC_MBOX_TOP,
	/* audit writer -> parent: u32 pid.  That child sent what it may not
	 * report; the parent ends it */
	IPC_AUDIT_CUTOFF,
	/* audit writer -> parent: no payload; the file reached
	 * audit_rotate_size, please rotate */
	IPC_AUDIT_ROTATE_ASK,
	/* parent -> audit writer, fd: the new audit file (append).  str the
	 * name the old file was renamed to */
	IPC_AUDIT_ROTATE,

	IPC_TYPE_MAX
};

/* IPC_AUTH_RESULT codes */
enum auth_result {
	AUTH_OK = 0,
	AUTH_FAIL,		/* bad credentials, unknown user, disabled */
	AUTH_TEMPFAIL,		/* overloaded or internal trouble */
	AUTH_LOGIN_DELAY	/* right password, but too soon (RFC 2449) */
};

/* IPC_MBOX_STATUS and IPC_SESSION_STORAGE_FAIL codes */
enum mbox_status {
	MBOX_OK = 0,
	MBOX_NOSUCH,		/* no such message */
	MBOX_DELETED,		/* message already deleted */
	MBOX_INUSE,		/* mailbox locked by another session */
	MBOX_TEMPFAIL,		/* try again later */
	MBOX_PERMFAIL,		/* mailbox cannot be served */
	MBOX_TOOBIG,		/* more messages than the configured limit */
	MBOX_STATUS_MAX
};

/* IPC_MBOX_FILE flags: the file is stored with CRLF line ends already */
#define MBOX_FILE_CRLF		0x1

/* listener flags in IPC_SESSION_CLIENT */
#define LISTEN_F_PLAINTEXT_OK	0x1	/* login allowed before TLS */
#define LISTEN_F_TLS		0x2	/* implicit TLS (RFC 8314) */
#define LISTEN_F_STARTTLS	0x4	/* STLS offered (RFC 2595) */
#define LISTEN_F_PROXY		0x8	/* PROXY protocol header required */

#define IPC_HDR_LEN		12
#define IPC_MAX_PAYLOAD		8192
#define IPC_MAX_FDS		2
#define IPC_MAX_STR		1024	/* longest string field */
#define IPC_LIST_MAX		64	/* entries in one IPC_MBOX_LISTING */

struct ipc_type_info {
	const char	*name;
	uint8_t		 from;		/* sending role */
	uint8_t		 to;		/* receiving role; ROLE_NONE: any */
	uint8_t		 nfds;		/* exact number of descriptors */
	uint16_t	 min_len;	/* payload bounds */
	uint16_t	 max_len;
};

const struct ipc_type_info	*ipc_type_info(unsigned int);
const char			*ipc_type_name(unsigned int);
const char			*ipc_role_name(unsigned int);
int				 ipc_type_allowed(unsigned int, int, int);

#endif
