/*
 * pop3d-session: start-up of a session process.  The parent spawns a pool
 * of these; each loads the configuration, confines itself (chroot into the
 * empty directory, unprivileged user, no core, no fork, no file writes) and
 * only then says HELLO and waits to be handed a client socket, so it never
 * reads a byte from the network before it is confined.
 */
#include <sys/types.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_send.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"
#include "tls_ticket_compat.h"
#include "session.h"
#include "util.h"

#define PARENT_FD	3
#define TLS_FD		4	/* TLS material, read once */

static struct session sess;

static void
confine(struct session *s)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (priv_is_root() &&
	    priv_lookup(s->conf.session_user, &uid, &gid) == -1)
		fatalx("session_user %s: no such user", s->conf.session_user);
	priv_drop(s->conf.empty_dir, uid, gid, PRIV_DIR_ROOT_OWNED);
	priv_limits(PRIV_NO_FILES, PRIV_NOFILE_SESSION);
}

/* Blocks until the parent hands over a connection; EOF means shut down. */
static void
receive_client(struct session *s)
{
	struct ipc_msg m;
	struct pollfd pfd = { s->parent.fd, POLLIN, 0 };
	int r;

	for (;;) {
		r = ipc_recv(&s->parent, &m);
		if (r == IPC_OK && m.type == IPC_HELLO)
			continue;
		if (r == IPC_OK && m.type == IPC_AUDIT_LINK) {
			if (audit_link(&s->audit, ROLE_SESSION, &m) == -1)
				log_warnx("audit channel not usable");
			continue;
		}
		if (r == IPC_OK)
			break;
		if (r != IPC_AGAIN)
			exit(0);
		if (poll(&pfd, 1, -1) == -1)
			fatal("poll");
	}
	if (m.type != IPC_SESSION_CLIENT ||
	    ipc_get_str(&m, s->peer, sizeof(s->peer)) == -1 ||
	    ipc_get_u32(&m, &s->peer_port) == -1 ||
	    ipc_get_str(&m, s->local, sizeof(s->local)) == -1 ||
	    ipc_get_u32(&m, &s->local_port) == -1 ||
	    ipc_get_u32(&m, &s->listen_flags) == -1 || ipc_get_end(&m) == -1)
		fatalx("malformed %s from parent", ipc_type_name(m.type));
	s->id = m.session;
	s->client = m.fds[0];
	if (fd_set_nonblock(s->client) == -1)
		fatal("client socket");
	ipc_chan_init(&s->authd, m.fds[1], ROLE_SESSION, ROLE_AUTHD, "authd");
	if (ipc_send_hello(&s->authd) == -1)
		log_warn("authd channel");
}

int
main(int argc, char *argv[])
{
	const char *conffile = SYSCONFDIR "/pop3d.conf";
	int verbose = 0;

	role_getopt(argc, argv, "pop3d-session", &conffile, &verbose);
	log_init("pop3d-session", 1, verbose);
	/* no tls_init() here: libtls initialises itself on first use, and
	 * OpenSSL's set-up is a cost only TLS connections should pay */
	if (sodium_init() == -1 || tls_ticket_compat_init() == -1)
		fatalx("library initialisation failed");
	if (config_load(&sess.conf, conffile) == -1)
		fatalx("%s: configuration not usable", conffile);
	ipc_chan_init(&sess.parent, PARENT_FD, ROLE_SESSION, ROLE_PARENT,
	    "parent");
	ipc_chan_init(&sess.storaged, -1, ROLE_SESSION, ROLE_STORAGED,
	    "storaged");
	ipc_chan_init(&sess.audit, -1, ROLE_SESSION, ROLE_AUDIT, "audit");
	session_tls_load(&sess, TLS_FD);
	confine(&sess);
	log_to_channel(&sess.parent);
	/* last step before any client byte: the filter */
	sandbox_enter(ROLE_SESSION, -1);
	if (ipc_send_hello(&sess.parent) == -1)
		fatal("hello to parent");
	receive_client(&sess);
	session_run(&sess);
	return 0;
}
