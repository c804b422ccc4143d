/*
 * The POP3 commands (RFC 1939, CAPA from RFC 2449), one small handler each
 * behind a table that says in which state a command is valid.  Handlers in
 * TRANSACTION state only forward message numbers to storaged, which
 * re-validates them; the session never names a file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_send.h"
#include "log.h"
#include "sasl.h"
#include "sandbox.h"
#include "session.h"
#include "util.h"

#define BAD	(-1)	/* handler result: counts as a bad command */

struct command {
	const char	*name;
	int		 states;
	int		 min_args, max_args;
	int		(*fn)(struct session *, struct pop3_cmd *);
};

static const char *mbox_errors[MBOX_STATUS_MAX] = {
	[MBOX_OK] = "+OK",
	[MBOX_NOSUCH] = "-ERR No such message",
	[MBOX_DELETED] = "-ERR Message already deleted",
	[MBOX_INUSE] = "-ERR [IN-USE] Mailbox is locked by another session",
	[MBOX_TEMPFAIL] = "-ERR [SYS/TEMP] Mailbox temporarily unavailable",
	[MBOX_PERMFAIL] = "-ERR [SYS/PERM] Mailbox unavailable",
	[MBOX_TOOBIG] = "-ERR [SYS/PERM] Mailbox holds too many messages",
};

static const char *
mbox_error(uint32_t code)
{
	return code < MBOX_STATUS_MAX && code != MBOX_OK ? mbox_errors[code] :
	    "-ERR [SYS/TEMP] Internal error";
}

void
pop3_greeting(struct session *s)
{
	if (s->conf.hostname[0] != '\0')
		session_reply(s, "+OK %s POP3 server ready", s->conf.hostname);
	else
		session_reply(s, "+OK POP3 server ready");
}

/* storaged died or spoke out of turn: nothing sensible can follow. */
static int
storage_lost(struct session *s)
{
	session_reply(s, "-ERR [SYS/TEMP] Mailbox connection lost");
	session_end(s, "storaged channel lost");
	return 0;
}

/* Sends a request to storaged and waits for its one reply. */
static int
mbox_call(struct session *s, struct ipc_msg *m, struct ipc_msg *reply)
{
	if (ipc_send(&s->storaged, m) == -1 ||
	    session_wait(s, &s->storaged, reply, SESSION_IPC_TIMEOUT_MS) !=
	    IPC_OK)
		return -1;
	return 0;
}

/* Reads an IPC_MBOX_STATUS reply; -1 if the reply is anything else. */
static int
mbox_status(struct ipc_msg *m, uint32_t *code, uint32_t *count,
    uint64_t *octets)
{
	if (m->type != IPC_MBOX_STATUS || ipc_get_u32(m, code) == -1 ||
	    ipc_get_u32(m, count) == -1 || ipc_get_u64(m, octets) == -1 ||
	    ipc_get_end(m) == -1) {
		ipc_msg_close_fds(m);
		return -1;
	}
	return 0;
}

static int
mbox_simple(struct session *s, unsigned int type, int with_n, uint32_t n,
    uint32_t *code, uint32_t *count, uint64_t *octets)
{
	struct ipc_msg m, r;

	ipc_msg_init(&m, type, s->id);
	if (with_n)
		ipc_put_u32(&m, n);
	if (mbox_call(s, &m, &r) == -1 ||
	    mbox_status(&r, code, count, octets) == -1)
		return -1;
	return 0;
}

/* May credentials be sent in this state of this connection? */
static int
login_allowed(struct session *s)
{
	return s->tls_active || (s->listen_flags & LISTEN_F_PLAINTEXT_OK);
}

static int
stls_available(struct session *s)
{
	return (s->listen_flags & LISTEN_F_STARTTLS) && !s->tls_active &&
	    s->tls_available && s->state == ST_AUTHORIZATION;
}

static int
cmd_capa(struct session *s, struct pop3_cmd *c)
{
	UNUSED(c);
	session_reply(s, "+OK Capability list follows");
	session_reply(s, "TOP");
	session_reply(s, "UIDL");
	session_reply(s, "RESP-CODES");
	session_reply(s, "AUTH-RESP-CODE");
	session_reply(s, "PIPELINING");
	session_reply(s, "EXPIRE NEVER");
	/* advertised only when authd enforces it (RFC 2449 section 6.5) */
	if (s->conf.login_delay_ms > 0)
		session_reply(s, "LOGIN-DELAY %llu", (unsigned long long)
		    ((s->conf.login_delay_ms + 999) / 1000));
	if (s->state == ST_AUTHORIZATION && login_allowed(s)) {
		session_reply(s, "USER");
		session_reply(s, "SASL PLAIN");
	}
	if (stls_available(s))
		session_reply(s, "STLS");
	if (s->conf.implementation[0] != '\0')
		session_reply(s, "IMPLEMENTATION %s", s->conf.implementation);
	session_reply(s, ".");
	return 0;
}

/*
 * STLS (RFC 2595).  Whatever the client sent after the STLS line is
 * discarded unread: it arrived in plaintext and must never be executed
 * as if it came over TLS (CVE-2011-0411).
 */
static int
cmd_stls(struct session *s, struct pop3_cmd *c)
{
	UNUSED(c);
	if (!stls_available(s)) {
		session_reply(s, "-ERR STLS not available");
		return 0;
	}
	session_reply(s, "+OK Begin TLS negotiation");
	if (session_flush(s) == -1)
		return 0;
	audit_report(&s->audit, "session.stls", (char *)NULL);
	if (s->inlen > 0 || s->discarding) {
		char n[24];

		log_warnx("%s port %u: %zu bytes pipelined after STLS "
		    "discarded", s->peer, s->peer_port, s->inlen);
		snprintf(n, sizeof(n), "%zu", s->inlen);
		audit_report(&s->audit, "security.starttls_pipelining",
		    "discarded", n, (char *)NULL);
	}
	explicit_bzero(s->in, sizeof(s->in));
	s->inlen = 0;
	s->discarding = 0;
	s->have_user = 0;
	if (session_tls_start(s) == -1)
		session_end(s, "TLS handshake failed");
	return 0;
}

static const char tls_required[] =
    "-ERR [AUTH] TLS is required before authentication: use STLS or the "
    "TLS port";

static int
cmd_noop(struct session *s, struct pop3_cmd *c)
{
	UNUSED(c);
	session_reply(s, "+OK");
	return 0;
}

static int
cmd_quit(struct session *s, struct pop3_cmd *c)
{
	uint32_t code, count;
	uint64_t octets;

	UNUSED(c);
	if (s->state == ST_AUTHORIZATION) {
		session_reply(s, "+OK Bye");
		session_end(s, "QUIT");
		return 0;
	}
	if (mbox_simple(s, IPC_MBOX_UPDATE, 0, 0, &code, &count,
	    &octets) == -1)
		return storage_lost(s);
	if (code == MBOX_OK)
		session_reply(s, "+OK Bye, %u messages deleted", count);
	else
		session_reply(s, "-ERR [SYS/TEMP] Some deleted messages were "
		    "not removed");
	session_end(s, "QUIT");
	return 0;
}

static int
cmd_user(struct session *s, struct pop3_cmd *c)
{
	if (!login_allowed(s)) {
		session_reply(s, "%s", tls_required);
		return 0;
	}
	if (c->bad_spacing)
		return BAD;
	s->have_user = 1;
	s->user_valid = username_canonical(c->argv[0], s->user,
	    sizeof(s->user)) == 0;
	strlcpy(s->user_given, c->argv[0], sizeof(s->user_given));
	/* for log lines only: escaped and cut short */
	str_escape(s->user_raw, sizeof(s->user_raw), c->argv[0],
	    strlen(c->argv[0]));
	session_reply(s, "+OK");
	return 0;
}

/* Follows a successful verdict: parent grant, then storaged readiness. */
static void
open_mailbox(struct session *s)
{
	struct ipc_msg m;
	uint32_t code, count;
	uint64_t octets;
	char user[USERNAME_MAX];

	if (session_wait(s, &s->parent, &m, SESSION_IPC_TIMEOUT_MS) != IPC_OK ||
	    m.type != IPC_SESSION_STORAGE ||
	    ipc_get_str(&m, user, sizeof(user)) == -1 ||
	    ipc_get_end(&m) == -1) {
		ipc_msg_close_fds(&m);
		session_reply(s, "-ERR [SYS/TEMP] Mailbox temporarily "
		    "unavailable");
		session_end(s, "no storaged");
		return;
	}
	ipc_chan_init(&s->storaged, m.fds[0], ROLE_SESSION, ROLE_STORAGED,
	    "storaged");
	strlcpy(s->user, user, sizeof(s->user));
	/*
	 * storaged may already have answered [IN-USE] and exited, so a
	 * failed HELLO is not the end: its status may still be queued.
	 */
	(void)ipc_send_hello(&s->storaged);
	if (session_wait(s, &s->storaged, &m, SESSION_IPC_TIMEOUT_MS) !=
	    IPC_OK || mbox_status(&m, &code, &count, &octets) == -1) {
		storage_lost(s);
		return;
	}
	if (code != MBOX_OK) {
		session_reply(s, "%s", mbox_error(code));
		session_end(s, "mailbox not opened");
		return;
	}
	s->state = ST_TRANSACTION;
	session_reply(s, "+OK Logged in, %u messages (%llu octets)", count,
	    (unsigned long long)octets);
}

static void
auth_failed(struct session *s)
{
	session_reply(s, "-ERR [AUTH] Authentication failed");
	if (++s->auth_failures >= s->conf.max_auth_failures)
		session_end(s, "too many authentication failures");
}

/* Asks authd; the password is wiped from every buffer that held it. */
static int
verify_password(struct session *s, const char *mech, const char *user,
    const char *pass)
{
	struct ipc_msg m;
	uint32_t result;
	int r;

	ipc_msg_init(&m, IPC_AUTH_REQUEST, s->id);
	ipc_put_str(&m, mech);
	ipc_put_str(&m, user);
	ipc_put_str(&m, pass);
	r = ipc_send(&s->authd, &m);
	explicit_bzero(m.data, sizeof(m.data));
	if (r == -1 || session_wait(s, &s->authd, &m,
	    SESSION_IPC_TIMEOUT_MS) != IPC_OK || m.type != IPC_AUTH_RESULT ||
	    ipc_get_u32(&m, &result) == -1 || ipc_get_end(&m) == -1) {
		/* authd died, restarted or misbehaved: this channel is done */
		ipc_chan_close(&s->authd);
		return AUTH_TEMPFAIL;
	}
	return result;
}

/* The common end of PASS and AUTH PLAIN: one verdict, one reply. */
static void
login(struct session *s, const char *mech, const char *pass)
{
	int result;

	if (strlen(pass) > IPC_MAX_STR) {
		/* cannot be anyone's password: never reaches authd, and
		 * answers like any other failure */
		log_info("%s port %u: authentication failed for %s (password "
		    "too long)", s->peer, s->peer_port, s->user_raw);
		session_delay(s, s->conf.auth_fail_delay_ms);
		auth_failed(s);
		return;
	}
	/* an invalid name goes to authd too: it counts towards the
	 * source's penalties and is recorded as invalid_user_name */
	result = verify_password(s, mech, s->user_valid ? s->user :
	    s->user_given, pass);
	if (result == AUTH_OK)
		open_mailbox(s);
	else if (result == AUTH_FAIL)
		auth_failed(s);
	else if (result == AUTH_LOGIN_DELAY)
		session_reply(s, "-ERR [LOGIN-DELAY] Logged in too recently, "
		    "try again in %llu seconds", (unsigned long long)
		    ((s->conf.login_delay_ms + 999) / 1000));
	else {
		session_reply(s, "-ERR [SYS/TEMP] Authentication service "
		    "unavailable, try again later");
		if (s->authd.fd == -1)
			session_end(s, "authd unavailable");
	}
}

static int
cmd_pass(struct session *s, struct pop3_cmd *c)
{
	if (!login_allowed(s)) {
		session_reply(s, "%s", tls_required);
		return 0;
	}
	if (!s->have_user) {
		session_reply(s, "-ERR USER first");
		return BAD;
	}
	s->have_user = 0;
	login(s, "USER", c->rest);
	return 0;
}

/* Checks authzid/authcid of a PLAIN response and sets the user. */
static int
plain_identity(struct session *s, const char *authz, const char *authc)
{
	char z[USERNAME_MAX];

	s->user_valid = username_canonical(authc, s->user,
	    sizeof(s->user)) == 0;
	strlcpy(s->user_given, authc, sizeof(s->user_given));
	str_escape(s->user_raw, sizeof(s->user_raw), authc, strlen(authc));
	if (authz[0] == '\0')
		return 0;
	if (!s->user_valid || username_canonical(authz, z, sizeof(z)) == -1 ||
	    strcmp(z, s->user) != 0) {
		log_info("%s port %u: AUTH PLAIN for %s with a different "
		    "authorization identity refused", s->peer, s->peer_port,
		    s->user_raw);
		session_reply(s, "-ERR [AUTH] The authorization identity must "
		    "be empty or the user");
		return -1;
	}
	return 0;
}

/* AUTH (RFC 5034): PLAIN only, with or without an initial response. */
static int
cmd_auth(struct session *s, struct pop3_cmd *c)
{
	char line[POP3_LINE_MAX], buf[SASL_PLAIN_MAX];
	const char *resp, *authz, *authc, *pass;
	size_t len;
	int ret = 0;

	if (c->argc == 0) {
		session_reply(s, "+OK Supported mechanisms follow");
		session_reply(s, "PLAIN");
		session_reply(s, ".");
		return 0;
	}
	if (strcasecmp(c->argv[0], "PLAIN") != 0) {
		session_reply(s, "-ERR Unsupported authentication mechanism");
		return 0;
	}
	if (!login_allowed(s)) {
		session_reply(s, "%s", tls_required);
		return 0;
	}
	resp = c->argv[1];
	if (c->argc == 1) {
		session_reply(s, "+ ");
		if (session_read_line(s, line, &len) != READ_LINE) {
			session_reply(s, "-ERR Line too long");
			return BAD;
		}
		resp = line;
	}
	if (strcmp(resp, "*") == 0)
		session_reply(s, "-ERR Authentication cancelled");
	else if (sasl_plain_decode(resp, buf, sizeof(buf), &authz, &authc,
	    &pass) == -1) {
		session_reply(s, "-ERR Malformed SASL PLAIN response");
		ret = BAD;
	} else if (plain_identity(s, authz, authc) == 0)
		login(s, "PLAIN", pass);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(line, sizeof(line));
	return ret;
}

static int
cmd_stat(struct session *s, struct pop3_cmd *c)
{
	uint32_t code, count;
	uint64_t octets;

	UNUSED(c);
	if (mbox_simple(s, IPC_MBOX_STAT, 0, 0, &code, &count, &octets) == -1)
		return storage_lost(s);
	session_reply(s, "+OK %u %llu", count, (unsigned long long)octets);
	return 0;
}

/*
 * Runs one IPC_MBOX_LIST exchange; calls `line' for every entry.  Returns
 * the next message number (0 when done) or -1 if storaged misbehaved.
 */
static int64_t
list_batch(struct session *s, uint32_t first, uint32_t max, int uidl,
    uint32_t *only)
{
	struct ipc_msg m, r;
	uint32_t next, n, i, num;
	uint64_t octets;
	char uid[IPC_MAX_STR + 1];

	ipc_msg_init(&m, IPC_MBOX_LIST, s->id);
	ipc_put_u32(&m, first);
	ipc_put_u32(&m, max);
	if (mbox_call(s, &m, &r) == -1 || r.type != IPC_MBOX_LISTING ||
	    ipc_get_u32(&r, &next) == -1 || ipc_get_u32(&r, &n) == -1 ||
	    n > IPC_LIST_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (ipc_get_u32(&r, &num) == -1 ||
		    ipc_get_u64(&r, &octets) == -1 ||
		    ipc_get_str(&r, uid, sizeof(uid)) == -1)
			return -1;
		if (only != NULL) {
			if (num != *only)
				break;
			*only = 0;	/* found */
			if (uidl)
				session_reply(s, "+OK %u %s", num, uid);
			else
				session_reply(s, "+OK %u %llu", num,
				    (unsigned long long)octets);
		} else if (uidl)
			session_reply(s, "%u %s", num, uid);
		else
			session_reply(s, "%u %llu", num,
			    (unsigned long long)octets);
	}
	return next;
}

static int
cmd_list_uidl(struct session *s, struct pop3_cmd *c, int uidl)
{
	uint32_t n;
	int64_t next = 1;

	if (c->argc == 1) {
		if (pop3_parse_msgno(c->argv[0], &n) == -1) {
			session_reply(s, "-ERR Invalid message number");
			return BAD;
		}
		if (list_batch(s, n, 1, uidl, &n) == -1)
			return storage_lost(s);
		if (n != 0)
			session_reply(s, "-ERR No such message");
		return 0;
	}
	session_reply(s, uidl ? "+OK Unique-ID listing follows" :
	    "+OK Scan listing follows");
	while (next > 0)
		if ((next = list_batch(s, next, IPC_LIST_MAX, uidl,
		    NULL)) == -1)
			return storage_lost(s);
	session_reply(s, ".");
	return 0;
}

static int
cmd_list(struct session *s, struct pop3_cmd *c)
{
	return cmd_list_uidl(s, c, 0);
}

static int
cmd_uidl(struct session *s, struct pop3_cmd *c)
{
	return cmd_list_uidl(s, c, 1);
}

/*
 * After a RETR or TOP: what the session sent, with the digest of a whole
 * message, for the audit trail (storaged has recorded the hand-out).
 */
static void
audit_sent(struct session *s, uint32_t n, const char *uidl, int64_t lines,
    int ok, uint64_t payload, const uint8_t *digest)
{
	char num[16], octets[24], nlines[24], hex[2 * RETR_DIGEST_BYTES + 1];

	snprintf(num, sizeof(num), "%u", n);
	snprintf(octets, sizeof(octets), "%llu", (unsigned long long)payload);
	snprintf(nlines, sizeof(nlines), "%lld", (long long)lines);
	if (lines < 0 && ok)
		sodium_bin2hex(hex, sizeof(hex), digest, RETR_DIGEST_BYTES);
	audit_report(&s->audit, "mail.sent", "outcome", ok ? "success" :
	    "failure", "cmd", lines < 0 ? "RETR" : "TOP", "msg", num, "uidl",
	    uidl, "octets", octets, lines < 0 ? (ok ? "blake2b" : NULL) :
	    "lines", lines < 0 ? hex : nlines, (char *)NULL);
}

/* RETR n and TOP n k: storaged hands over a read-only descriptor. */
static int
send_message(struct session *s, uint32_t n, int64_t lines)
{
	uint8_t digest[RETR_DIGEST_BYTES];
	char uidl[72];
	struct ipc_msg m, r;
	uint32_t num, flags, code, count;
	uint64_t octets, payload;
	int ok;

	ipc_msg_init(&m, lines < 0 ? IPC_MBOX_RETR : IPC_MBOX_TOP, s->id);
	ipc_put_u32(&m, n);
	if (lines >= 0)
		ipc_put_u64(&m, (uint64_t)lines);
	if (mbox_call(s, &m, &r) == -1)
		return storage_lost(s);
	if (r.type == IPC_MBOX_STATUS) {
		if (mbox_status(&r, &code, &count, &octets) == -1)
			return storage_lost(s);
		session_reply(s, "%s", mbox_error(code));
		return 0;
	}
	if (r.type != IPC_MBOX_FILE || ipc_get_u32(&r, &num) == -1 ||
	    ipc_get_u64(&r, &octets) == -1 || ipc_get_u32(&r, &flags) == -1 ||
	    ipc_get_str(&r, uidl, sizeof(uidl)) == -1 ||
	    ipc_get_end(&r) == -1 || num != n) {
		ipc_msg_close_fds(&r);
		return storage_lost(s);
	}
	if (lines < 0)
		session_reply(s, "+OK %llu octets", (unsigned long long)octets);
	else
		session_reply(s, "+OK Top of message follows");
	ok = retr_send(s, r.fds[0], lines, s->audit.fd != -1 && lines < 0 ?
	    digest : NULL, &payload) == 0;
	close(r.fds[0]);
	audit_sent(s, n, uidl, lines, ok, payload, digest);
	if (!ok) {
		/* the response is half sent: the only honest thing is to close */
		session_end(s, "message read error");
	}
	return 0;
}

static int
cmd_retr(struct session *s, struct pop3_cmd *c)
{
	uint32_t n;

	if (pop3_parse_msgno(c->argv[0], &n) == -1) {
		session_reply(s, "-ERR Invalid message number");
		return BAD;
	}
	return send_message(s, n, -1);
}

static int
cmd_top(struct session *s, struct pop3_cmd *c)
{
	uint32_t n, lines;

	if (pop3_parse_msgno(c->argv[0], &n) == -1 ||
	    pop3_parse_count(c->argv[1], &lines) == -1) {
		session_reply(s, "-ERR Invalid arguments");
		return BAD;
	}
	return send_message(s, n, lines);
}

static int
cmd_dele(struct session *s, struct pop3_cmd *c)
{
	uint32_t n, code, count;
	uint64_t octets;

	if (pop3_parse_msgno(c->argv[0], &n) == -1) {
		session_reply(s, "-ERR Invalid message number");
		return BAD;
	}
	if (mbox_simple(s, IPC_MBOX_DELE, 1, n, &code, &count, &octets) == -1)
		return storage_lost(s);
	if (code == MBOX_OK)
		session_reply(s, "+OK Message %u deleted", n);
	else
		session_reply(s, "%s", mbox_error(code));
	return 0;
}

static int
cmd_rset(struct session *s, struct pop3_cmd *c)
{
	uint32_t code, count;
	uint64_t octets;

	UNUSED(c);
	if (mbox_simple(s, IPC_MBOX_RSET, 0, 0, &code, &count, &octets) == -1)
		return storage_lost(s);
	session_reply(s, "+OK %u messages (%llu octets)", count,
	    (unsigned long long)octets);
	return 0;
}

#ifdef POP3D_TEST_HOOKS
/* Test build only (common/sandbox_test.c): XSBX action. */
static int
cmd_xsbx(struct session *s, struct pop3_cmd *c)
{
	if (sandbox_test_violate(c->argv[0]) == -1)
		return BAD;
	session_reply(s, "+OK survived: %s", strerror(errno));
	return 0;
}

/* Test build only: XAUD EVENT [KEY VALUE] reports that event, as a
 * compromised session could, so tests see what the writer makes of it. */
static int
cmd_xaud(struct session *s, struct pop3_cmd *c)
{
	if (c->argc == 2)
		return BAD;
	if (c->argc == 3)
		audit_report(&s->audit, c->argv[0], c->argv[1], c->argv[2],
		    (char *)NULL);
	else
		audit_report(&s->audit, c->argv[0], (char *)NULL);
	session_reply(s, "+OK sent");
	return 0;
}
#endif

#define AUTH	ST_AUTHORIZATION
#define TRANS	ST_TRANSACTION

/* sorted by name */
static const struct command commands[] = {
	{ "AUTH", AUTH, 0, 2, cmd_auth },
	{ "CAPA", AUTH | TRANS, 0, 0, cmd_capa },
	{ "DELE", TRANS, 1, 1, cmd_dele },
	{ "LIST", TRANS, 0, 1, cmd_list },
	{ "NOOP", TRANS, 0, 0, cmd_noop },
	{ "PASS", AUTH, 1, POP3_MAX_ARGS + 1, cmd_pass },
	{ "QUIT", AUTH | TRANS, 0, 0, cmd_quit },
	{ "RETR", TRANS, 1, 1, cmd_retr },
	{ "RSET", TRANS, 0, 0, cmd_rset },
	{ "STAT", TRANS, 0, 0, cmd_stat },
	{ "STLS", AUTH, 0, 0, cmd_stls },
	{ "TOP", TRANS, 2, 2, cmd_top },
	{ "UIDL", TRANS, 0, 1, cmd_uidl },
	{ "USER", AUTH, 1, 1, cmd_user },
#ifdef POP3D_TEST_HOOKS
	{ "XAUD", AUTH | TRANS, 1, 3, cmd_xaud },
	{ "XSBX", AUTH | TRANS, 1, 1, cmd_xsbx },
#endif
};

void
pop3_dispatch(struct session *s, struct pop3_cmd *c)
{
	const struct command *cmd = NULL;
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, c->keyword) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		session_bad_command(s, "Unknown command");
		return;
	}
	if (!(cmd->states & s->state)) {
		session_bad_command(s, "Command not valid in this state");
		return;
	}
	if (c->argc < cmd->min_args || c->argc > cmd->max_args ||
	    (c->bad_spacing && cmd->fn != cmd_pass)) {
		session_bad_command(s, "Syntax error");
		return;
	}
	if (cmd->fn(s, c) == BAD)
		session_bad_command(s, NULL);	/* handler replied */
}
