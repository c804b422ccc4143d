/*
 * The session's I/O core: reading client lines under the RFC length limit
 * and the state's deadline, batching replies into few writes (so pipelined
 * commands are answered together), and waiting for one reply on an IPC
 * channel without losing sight of the parent.  It is a simple blocking
 * design because a session serves exactly one client.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_send.h"
#include "log.h"
#include "session.h"
#include "util.h"

void
session_end(struct session *s, const char *reason)
{
	if (s->end_reason == NULL)
		s->end_reason = reason;
}

static uint64_t
read_deadline(struct session *s)
{
	if (s->state == ST_AUTHORIZATION)
		return s->login_deadline;
	return monotonic_ms() + s->conf.idle_timeout_ms;
}

static int
ms_until(uint64_t deadline)
{
	uint64_t now = monotonic_ms();

	if (now >= deadline)
		return 0;
	return deadline - now > 60 * 60 * 1000 ? 60 * 60 * 1000 :
	    (int)(deadline - now);
}

/*
 * While waiting on the client or another channel, the parent is watched
 * only for hang-up (events 0): a message it sends meanwhile, such as the
 * storaged grant racing authd's verdict, stays queued for whoever waits
 * for it.  If the parent is gone, so is the session.
 */
static void
check_parent(struct session *s, short revents)
{
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		session_end(s, "parent gone");
		_exit(0);
	}
}

/*
 * Waits until the client socket is ready for `events' or the deadline
 * passes (returns 0), watching the parent for hang-up meanwhile.
 */
int
session_wait_client(struct session *s, short events, uint64_t deadline)
{
	struct pollfd pfd[2];

	for (;;) {
		if (ms_until(deadline) == 0)
			return 0;
		pfd[0] = (struct pollfd){ s->client, events, 0 };
		pfd[1] = (struct pollfd){ s->parent.fd, 0, 0 };
		if (poll(pfd, 2, ms_until(deadline)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		check_parent(s, pfd[1].revents);
		if (pfd[0].revents)
			return 1;
	}
}

int
session_flush(struct session *s)
{
	size_t off = 0;
	uint64_t deadline = monotonic_ms() + s->conf.idle_timeout_ms;
	short ev;
	ssize_t n;

	while (off < s->outlen && !s->conn_dead) {
		n = session_io_write(s, s->out + off, s->outlen - off, &ev);
		if (n > 0) {
			off += n;
			s->bytes_out += n;
		} else if (n != IO_WANT) {
			session_end(s, "write error");
			s->conn_dead = 1;
		} else if (!session_wait_client(s, ev, deadline)) {
			session_end(s, "write timeout");
			s->conn_dead = 1;
		}
	}
	s->outlen = 0;
	return s->conn_dead ? -1 : 0;
}

/* Makes room for n more output bytes, flushing if needed. */
int
session_out_reserve(struct session *s, size_t n)
{
	if (n > sizeof(s->out))
		fatalx("output reservation of %zu bytes", n);
	if (sizeof(s->out) - s->outlen < n)
		return session_flush(s);
	return s->conn_dead ? -1 : 0;
}

void
session_reply(struct session *s, const char *fmt, ...)
{
	char line[POP3_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("reply format");
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (session_out_reserve(s, n) == 0) {
		memcpy(s->out + s->outlen, line, n);
		s->outlen += n;
	}
}

/* Waits up to `deadline' for client bytes; returns bytes read or -1,
 * having ended the session for `late' if the deadline passed. */
static ssize_t
fill_input(struct session *s, uint64_t deadline, const char *late)
{
	ssize_t n;
	short ev;

	for (;;) {
		n = session_io_read(s, s->in + s->inlen,
		    sizeof(s->in) - s->inlen, &ev);
		if (n > 0) {
			s->inlen += n;
			s->bytes_in += n;
			return n;
		}
		if (n == 0) {
			session_end(s, "client closed connection");
			return -1;
		}
		if (n != IO_WANT) {
			session_end(s, "read error");
			s->conn_dead = 1;
			return -1;
		}
		if (!session_wait_client(s, ev, deadline)) {
			session_end(s, late);
			return -1;
		}
	}
}

/* Takes one line out of the input buffer if a whole one is there. */
static int
take_line(struct session *s, char *line, size_t *len)
{
	uint8_t *nl = memchr(s->in, '\n', s->inlen);
	size_t n, used;

	if (nl == NULL)
		return 0;
	used = nl - s->in + 1;
	n = used - 1;
	if (n > 0 && s->in[n - 1] == '\r')
		n--;
	if (s->discarding || used > POP3_LINE_MAX) {
		s->discarding = 0;
		n = (size_t)-1;
	} else {
		memcpy(line, s->in, n);
		line[n] = '\0';
	}
	explicit_bzero(s->in, used);
	memmove(s->in, s->in + used, s->inlen - used);
	s->inlen -= used;
	*len = n;
	return 1;
}

/*
 * Reads the next command line into `line' (POP3_LINE_MAX bytes).  An
 * over-long line is discarded up to its end and reported once.
 */
int
session_read_line(struct session *s, char *line, size_t *len)
{
	uint64_t deadline, state_deadline = read_deadline(s);
	const char *late;

	for (;;) {
		if (take_line(s, line, len)) {
			/* what is left was sent with it: a line starts now */
			s->line_started = s->inlen > 0 ? monotonic_ms() : 0;
			return *len == (size_t)-1 ? READ_TOO_LONG : READ_LINE;
		}
		if (s->inlen >= POP3_LINE_MAX) {
			/* no line end in sight: drop what we have */
			s->discarding = 1;
			explicit_bzero(s->in, s->inlen);
			s->inlen = 0;
		}
		/* answer everything pipelined so far before blocking */
		if (s->outlen > 0 && session_flush(s) == -1)
			return READ_END;
		deadline = state_deadline;
		late = s->state == ST_AUTHORIZATION ? "login timeout" :
		    "idle timeout";
		/* a line once begun must end in time: no trickling */
		if (s->line_started != 0 && s->line_started +
		    s->conf.line_timeout_ms < deadline) {
			deadline = s->line_started + s->conf.line_timeout_ms;
			late = "line timeout";
		}
		if (fill_input(s, deadline, late) == -1)
			return READ_END;
		if (s->line_started == 0)
			s->line_started = monotonic_ms();
	}
}

/*
 * Waits for the next message on `c', passing over its HELLO.  Returns
 * IPC_OK, or IPC_EOF/IPC_BAD (channel dead) or IPC_AGAIN (timed out).
 */
int
session_wait(struct session *s, struct ipc_chan *c, struct ipc_msg *m,
    uint64_t timeout_ms)
{
	uint64_t deadline = monotonic_ms() + timeout_ms;
	struct pollfd pfd[2];
	int r;

	for (;;) {
		r = ipc_recv(c, m);
		if (r == IPC_OK && m->type == IPC_HELLO)
			continue;
		if (r != IPC_AGAIN)
			return r;
		if (ms_until(deadline) == 0)
			return IPC_AGAIN;
		pfd[0] = (struct pollfd){ c->fd, POLLIN, 0 };
		pfd[1] = (struct pollfd){ s->parent.fd, 0, 0 };
		if (c == &s->parent)
			pfd[1].fd = -1;
		if (poll(pfd, 2, ms_until(deadline)) == -1 && errno != EINTR)
			fatal("poll");
		check_parent(s, pfd[1].revents);
	}
}

/* Sleeps without ignoring the parent (used for the failure delay). */
void
session_delay(struct session *s, uint64_t ms)
{
	uint64_t deadline = monotonic_ms() + ms;
	struct pollfd pfd = { s->parent.fd, 0, 0 };

	while (ms_until(deadline) > 0) {
		if (poll(&pfd, 1, ms_until(deadline)) == -1 && errno != EINTR)
			fatal("poll");
		check_parent(s, pfd.revents);
	}
}

/* Counts a bad command (replying first unless the caller did). */
void
session_bad_command(struct session *s, const char *reply)
{
	if (reply != NULL)
		session_reply(s, "-ERR %s", reply);
	if (++s->bad_commands >= s->conf.max_bad_commands) {
		session_reply(s, "-ERR Too many bad commands");
		log_info("%s port %u: too many bad commands", s->peer,
		    s->peer_port);
		session_end(s, "too many bad commands");
	}
}

static void
handle_line(struct session *s, char *line, size_t len)
{
	struct pop3_cmd cmd;

	if (++s->commands > s->conf.max_commands) {
		session_reply(s, "-ERR [SYS/PERM] Too many commands in one "
		    "session");
		session_end(s, "too many commands");
		return;
	}
	switch (pop3_parse_line(line, len, &cmd)) {
	case LINE_OK:
		pop3_dispatch(s, &cmd);
		break;
	case LINE_EMPTY:
		session_bad_command(s, "Empty command");
		break;
	case LINE_BAD_CHAR:
		session_bad_command(s, "Invalid character in command");
		break;
	default:
		session_bad_command(s, "Unknown command");
		break;
	}
	explicit_bzero(&cmd, sizeof(cmd));
}

/* session.end: how it ended and what went through it. */
static void
audit_end(struct session *s)
{
	char cmds[16], in[24], out[24], ms[24];

	snprintf(cmds, sizeof(cmds), "%u", s->commands);
	snprintf(in, sizeof(in), "%llu", (unsigned long long)s->bytes_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)s->bytes_out);
	snprintf(ms, sizeof(ms), "%llu",
	    (unsigned long long)(monotonic_ms() - s->started_ms));
	audit_report(&s->audit, "session.end", "reason", s->end_reason,
	    "authenticated", s->state == ST_TRANSACTION ? "yes" : "no",
	    "tls", s->tls_active ? "yes" : "no", "duration_ms", ms,
	    "bytes_in", in, "bytes_out", out, "commands", cmds, (char *)NULL);
}

void
session_run(struct session *s)
{
	char line[POP3_LINE_MAX];
	size_t len;

	s->started_ms = monotonic_ms();
	s->login_deadline = s->started_ms + s->conf.login_timeout_ms;
	s->state = ST_AUTHORIZATION;
	if ((s->listen_flags & LISTEN_F_TLS) && session_tls_start(s) == -1)
		session_end(s, "TLS handshake failed");
	else
		pop3_greeting(s);
	while (s->end_reason == NULL) {
		switch (session_read_line(s, line, &len)) {
		case READ_LINE:
			handle_line(s, line, len);
			explicit_bzero(line, sizeof(line));
			break;
		case READ_TOO_LONG:
			s->commands++;
			session_bad_command(s, "Line too long");
			break;
		default:
			break;
		}
	}
	session_flush(s);
	session_tls_close(s);
	audit_end(s);
	log_info("%s%s%s from %s port %u ended: %s; %u commands, "
	    "%llu bytes in, %llu bytes out, %llu ms",
	    s->state == ST_TRANSACTION ? "user " : "",
	    s->state == ST_TRANSACTION ? s->user : "",
	    s->state == ST_TRANSACTION ? "" : "unauthenticated",
	    s->peer, s->peer_port, s->end_reason, s->commands,
	    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out,
	    (unsigned long long)(monotonic_ms() - s->started_ms));
}
