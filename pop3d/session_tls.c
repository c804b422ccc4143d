/*
 * TLS in the session: the server context is built from the material the
 * parent handed over, while the process is still unconfined (libtls loads
 * the key into memory then; the session never opens a file).  After that,
 * session_io_read/write are the only way bytes move to and from the
 * client, so plaintext and TLS connections share every other line of code.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_send.h"
#include "log.h"
#include "session.h"
#include "tls_material.h"
#include "util.h"

/*
 * Reads the blob the parent wrote into descriptor `fd' and closes it.  The
 * blob is kept, not yet turned into a libtls context: OpenSSL's set-up
 * costs about a megabyte per process, which a session that never does TLS
 * should not pay.  Its shape is checked now, so a bad blob fails at once.
 */
void
session_tls_load(struct session *s, int fd)
{
	struct tls_material t;
	ssize_t n;

	if ((s->tls_blob = malloc(TLSM_MAX + 1)) == NULL)
		fatal("malloc");
	while (s->tls_bloblen < TLSM_MAX + 1 && (n = read(fd,
	    s->tls_blob + s->tls_bloblen, TLSM_MAX + 1 - s->tls_bloblen)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("reading TLS material");
		s->tls_bloblen += n;
	}
	close(fd);
	if (s->tls_bloblen > TLSM_MAX ||
	    tlsm_decode(&t, s->tls_blob, s->tls_bloblen) == -1)
		fatalx("malformed TLS material from parent");
	s->tls_available = t.certlen > 0;
	sodium_memzero(&t, sizeof(t));
}

/* Builds the server context on first use, then wipes the blob. */
static int
tls_server_setup(struct session *s)
{
	struct tls_material t;
	struct tls_config *cfg;
	int ret = -1;

	if (s->tls_server != NULL)
		return 0;
	if (!s->tls_available || tlsm_decode(&t, s->tls_blob,
	    s->tls_bloblen) == -1) {
		log_warnx("TLS requested but no certificate loaded");
		return -1;
	}
	if ((cfg = tls_config_new()) == NULL ||
	    (s->tls_server = tls_server()) == NULL)
		fatalx("tls_server");
	if (tlsm_configure(cfg, &s->conf, &t) == 0 &&
	    tls_configure(s->tls_server, cfg) == 0)
		ret = 0;
	else
		log_warnx("TLS setup: %s", tls_error(s->tls_server));
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(s->tls_blob, TLSM_MAX + 1);
	s->tls_bloblen = 0;
	s->tls_available = ret == 0;
	return ret;
}

/* Runs the TLS handshake on the client socket within the deadline. */
int
session_tls_start(struct session *s)
{
	uint64_t deadline = monotonic_ms() + s->conf.tls_handshake_timeout_ms;
	const char *mode = s->listen_flags & LISTEN_F_TLS ? "implicit" :
	    "stls";
	int r;

	if (tls_server_setup(s) == -1)
		return -1;
	if (tls_accept_socket(s->tls_server, &s->tls, s->client) == -1) {
		log_warnx("tls_accept_socket: %s", tls_error(s->tls_server));
		return -1;
	}
	while ((r = tls_handshake(s->tls)) != 0) {
		if (r != TLS_WANT_POLLIN && r != TLS_WANT_POLLOUT) {
			log_info("%s port %u: TLS handshake failed: %s",
			    s->peer, s->peer_port, tls_error(s->tls));
			audit_report(&s->audit, "tls.failed", "mode", mode,
			    "reason", tls_error(s->tls) != NULL ?
			    tls_error(s->tls) : "handshake failed",
			    (char *)NULL);
			return -1;
		}
		if (!session_wait_client(s, r == TLS_WANT_POLLIN ? POLLIN :
		    POLLOUT, deadline)) {
			log_info("%s port %u: TLS handshake timed out",
			    s->peer, s->peer_port);
			audit_report(&s->audit, "tls.failed", "mode", mode,
			    "reason", "timeout", (char *)NULL);
			return -1;
		}
	}
	s->tls_active = 1;
	audit_report(&s->audit, "tls.established", "mode", mode, "version",
	    tls_conn_version(s->tls), "cipher", tls_conn_cipher(s->tls),
	    "resumed", tls_conn_session_resumed(s->tls) ? "yes" : "no",
	    (char *)NULL);
	log_info("%s port %u: TLS established: %s, %s%s", s->peer,
	    s->peer_port, tls_conn_version(s->tls), tls_conn_cipher(s->tls),
	    tls_conn_session_resumed(s->tls) ? ", resumed" : "");
	return 0;
}

ssize_t
session_io_read(struct session *s, void *buf, size_t len, short *events)
{
	ssize_t n;

	if (s->tls_active) {
		n = tls_read(s->tls, buf, len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			*events = n == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
			return IO_WANT;
		}
		if (n == -1)
			log_debug("tls_read: %s", tls_error(s->tls));
		return n;
	}
	do {
		n = recv(s->client, buf, len, 0);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*events = POLLIN;
		return IO_WANT;
	}
	return n;
}

ssize_t
session_io_write(struct session *s, const void *buf, size_t len,
    short *events)
{
	ssize_t n;

	if (s->tls_active) {
		n = tls_write(s->tls, buf, len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			*events = n == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
			return IO_WANT;
		}
		if (n == -1)
			log_debug("tls_write: %s", tls_error(s->tls));
		return n;
	}
	do {
		n = send(s->client, buf, len, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*events = POLLOUT;
		return IO_WANT;
	}
	return n;
}

/* Best effort close_notify; never waits for the peer. */
void
session_tls_close(struct session *s)
{
	if (s->tls != NULL && !s->conn_dead)
		(void)tls_close(s->tls);
}
