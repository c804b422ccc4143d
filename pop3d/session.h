/*
 * The session process: one client connection, confined before it receives
 * the socket.  It speaks POP3, holds no credentials beyond the password in
 * flight, and reaches the mailbox only through the storaged channel the
 * parent hands it after authd has vouched for the user.
 */
#ifndef POP3D_SESSION_H
#define POP3D_SESSION_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ipc.h"
#include "pop3_parse.h"
#include "username.h"

#define SESSION_IN_BUF		4096
#define RETR_DIGEST_BYTES	32	/* BLAKE2b-256 */
#define SESSION_OUT_BUF		(128 * 1024)
#define SESSION_IPC_TIMEOUT_MS	(60 * 1000)
#define IO_WANT			(-2)	/* session_io_*: poll, then retry */

enum read_result { READ_LINE, READ_TOO_LONG, READ_END };

struct tls;

enum session_state {
	ST_AUTHORIZATION = 0x1,
	ST_TRANSACTION = 0x2
};

struct session {
	struct config	 conf;
	struct ipc_chan	 parent, authd, storaged;
	struct ipc_chan	 audit;		/* to the audit writer; fd -1: none */
	int		 client;
	uint32_t	 id;
	uint32_t	 listen_flags;
	char		 peer[64], local[64];
	uint32_t	 peer_port, local_port;

	int		 state;
	int		 have_user, user_valid;
	char		 user[USERNAME_MAX];
	char		 user_raw[80];		/* as typed, escaped, for logs */
	char		 user_given[USERNAME_MAX];	/* as typed, cut short */
	uint32_t	 auth_failures, bad_commands, commands;
	uint64_t	 bytes_in, bytes_out, started_ms;
	uint64_t	 login_deadline;	/* AUTHORIZATION ends by then */
	uint64_t	 line_started;	/* first byte of an unfinished line */
	const char	*end_reason;		/* set when the session ends */
	int		 conn_dead;		/* client unreachable: no writes */
	uint8_t		*tls_blob;		/* material until first use */
	size_t		 tls_bloblen;
	int		 tls_available;		/* a certificate was handed over */
	struct tls	*tls_server;		/* built on first use */
	struct tls	*tls;			/* this connection's context */
	int		 tls_active;

	uint8_t		 in[SESSION_IN_BUF];
	size_t		 inlen;
	int		 discarding;		/* inside an over-long line */
	uint8_t		 out[SESSION_OUT_BUF];
	size_t		 outlen;
};

/* session.c */
void	session_run(struct session *);
void	session_reply(struct session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	session_out_reserve(struct session *, size_t);
int	session_flush(struct session *);
int	session_wait(struct session *, struct ipc_chan *, struct ipc_msg *,
	    uint64_t);
void	session_end(struct session *, const char *);
void	session_bad_command(struct session *, const char *);
void	session_delay(struct session *, uint64_t);
int	session_wait_client(struct session *, short, uint64_t);
int	session_read_line(struct session *, char *, size_t *);

/* session_tls.c */
void	session_tls_load(struct session *, int);
int	session_tls_start(struct session *);
void	session_tls_close(struct session *);
ssize_t	session_io_read(struct session *, void *, size_t, short *);
ssize_t	session_io_write(struct session *, const void *, size_t, short *);

/* pop3_cmd.c */
void	pop3_dispatch(struct session *, struct pop3_cmd *);
void	pop3_greeting(struct session *);

/* retr.c */
int	retr_send(struct session *, int, int64_t, uint8_t *, uint64_t *);

#endif
