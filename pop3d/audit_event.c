/*
 * The audit writer's two jobs besides the chain: turning an event message
 * into the record's fields, with the sender's role from its channel and
 * every value escaped here (a sender can name keys and values, never
 * inject JSON or claim another role), after checking the event is one
 * that role may report; and, at start-up, making the audit file and the
 * chain state agree after a crash.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit_chain.h"
#include "audit_event.h"
#include "audit_internal.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

#define EVENT_NAME_MAX	48
#define KEY_MAX		32
#define PAIRS_MAX	24
#define VALUE_MAX	512

/*
 * Which role may report what, and the outcome the event itself implies
 * (NULL: the sender says, "success" or "failure").  A session cannot state
 * a login, storaged cannot state a connection, nobody but the writer can
 * state the chain's own records.
 */
static const struct {
	int		 role;
	const char	*event;
	const char	*outcome;
} allowed[] = {
	{ ROLE_PARENT, "service.start", "success" },
	{ ROLE_PARENT, "service.reload", NULL },
	{ ROLE_PARENT, "service.stop", "success" },
	{ ROLE_PARENT, "conn.accept", "success" },
	{ ROLE_PARENT, "conn.refuse", "failure" },
	{ ROLE_PARENT, "auth.ban", "success" },
	{ ROLE_PARENT, "auth.unban", "success" },
	{ ROLE_PARENT, "security.sandbox_kill", "failure" },
	{ ROLE_PARENT, "service.authd_restart", "success" },
	{ ROLE_PARENT, "auth.refuse", "failure" },
	{ ROLE_AUTHD, "auth.success", "success" },
	{ ROLE_AUTHD, "auth.failure", "failure" },
	{ ROLE_AUTHD, "auth.login_delay", "failure" },
	{ ROLE_SESSION, "tls.established", "success" },
	{ ROLE_SESSION, "tls.failed", "failure" },
	{ ROLE_SESSION, "session.stls", "success" },
	{ ROLE_SESSION, "security.starttls_pipelining", "failure" },
	{ ROLE_SESSION, "mail.sent", NULL },
	{ ROLE_SESSION, "session.end", "success" },
	{ ROLE_STORAGED, "mailbox.open", NULL },
	{ ROLE_STORAGED, "mail.retrieve", "success" },
	{ ROLE_STORAGED, "mail.delete", NULL },
	{ ROLE_STORAGED, "mailbox.close", "success" },
#ifdef POP3D_TEST_HOOKS
	{ ROLE_SESSION, "test.event", "success" },
#endif
};

/* The members every record may carry, in this order, after event, role
 * and pid; on a channel with a context (session, storaged) the writer
 * fills them from it and the sender may not. */
static const char *context_keys[] = { "outcome", "session", "src",
    "src_port", "dst", "dst_port", "user" };
#define NCONTEXT	(sizeof(context_keys) / sizeof(context_keys[0]))

static int
event_lookup(int role, const char *ev, const char **outcome)
{
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i].role == role &&
		    strcmp(allowed[i].event, ev) == 0) {
			*outcome = allowed[i].outcome;
			return 0;
		}
	return -1;
}

/* The parent, whose records carry no pid of their own, may name a
 * child's (security.sandbox_kill). */
static int
key_ok(const char *k, int role)
{
	/* who sent it is ours to say; the chain's members are the library's */
	static const char *reserved[] = { "role", "pid", "event", "seq", "ts",
	    "chain", "chain_id", "tag" };
	size_t i, n = strlen(k);

	if (n == 0 || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return 0;
	if (role == ROLE_PARENT && strcmp(k, "pid") == 0)
		return 1;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(k, reserved[i]) == 0)
			return 0;
	return 1;
}

static int
context_index(const char *k)
{
	size_t i;

	for (i = 0; i < NCONTEXT; i++)
		if (strcmp(k, context_keys[i]) == 0)
			return (int)i;
	return -1;
}

/* Appends ,"key":"escaped value" to the fields. */
static int
add_field(char *f, size_t fsz, size_t *fl, const char *k, const char *v)
{
	char esc[VALUE_MAX * 6 + 1];
	int n;

	audit_json_str(esc, sizeof(esc), v, strlen(v));
	n = snprintf(f + *fl, fsz - *fl, ",\"%s\":\"%s\"", k, esc);
	if (n < 0 || (size_t)n >= fsz - *fl)
		return -1;
	*fl += (size_t)n;
	return 0;
}

/* Appends " key=value" to the syslog short form, escaped the same way;
 * what does not fit is left out whole. */
static void
add_summary(char *sum, size_t ssz, const char *k, const char *v)
{
	char esc[VALUE_MAX * 6 + 1];

	audit_json_str(esc, sizeof(esc), v, strlen(v));
	if (strlen(sum) + strlen(k) + strlen(esc) + 3 < ssz) {
		strlcat(sum, " ", ssz);
		strlcat(sum, k, ssz);
		strlcat(sum, "=", ssz);
		strlcat(sum, esc, ssz);
	}
}

/* The context members as the writer knows them for this channel. */
static void
context_values(const struct audit_source *src, const char *ctx[NCONTEXT],
    char sid[16], char sport[8], char dport[8])
{
	memset(ctx, 0, NCONTEXT * sizeof(ctx[0]));
	if (src == NULL)
		return;
	snprintf(sid, 16, "%u", src->session);
	snprintf(sport, 8, "%u", src->src_port);
	snprintf(dport, 8, "%u", src->dst_port);
	ctx[1] = sid;
	if (src->src[0] != '\0') {
		ctx[2] = src->src;
		ctx[3] = sport;
	}
	if (src->dst[0] != '\0') {
		ctx[4] = src->dst;
		ctx[5] = dport;
	}
	if (src->user[0] != '\0')
		ctx[6] = src->user;
}

struct event_in {
	char		ev[EVENT_NAME_MAX];
	uint32_t	n;
	char		k[PAIRS_MAX][KEY_MAX];
	char		v[PAIRS_MAX][VALUE_MAX];
};

static int
event_parse(struct ipc_msg *m, int role, struct event_in *in)
{
	uint32_t i;

	if (ipc_get_str(m, in->ev, sizeof(in->ev)) == -1 ||
	    ipc_get_u32(m, &in->n) == -1 || in->n > PAIRS_MAX)
		return -1;
	for (i = 0; i < in->n; i++)
		if (ipc_get_str(m, in->k[i], KEY_MAX) == -1 ||
		    ipc_get_str(m, in->v[i], VALUE_MAX) == -1 ||
		    !key_ok(in->k[i], role))
			return -1;
	return ipc_get_end(m);
}

/*
 * The record fields of an AUDIT_EVENT that came in on a channel of `role'
 * and process `pid'.  `own' is the channel's context (session, storaged:
 * what the parent told us of the connection, which the sender cannot
 * override); `about' the context of the session a parent or authd event
 * names, used to complete the addresses it does not state.  -1 with the
 * reason in `sum' when the event is malformed or not that role's to report.
 */
int
audit_event_fields(int role, pid_t pid, const struct audit_source *own,
    const struct audit_source *(*about)(uint32_t), struct ipc_msg *m,
    char *f, size_t fsz, char *sum, size_t ssz)
{
	static struct event_in in;
	const char *ctx[NCONTEXT], *sent[NCONTEXT], *fixed;
	const struct audit_source *other;
	char sid[16], sport[8], dport[8], osid[16], osport[8], odport[8];
	uint32_t i, sidv;
	size_t fl, c;
	int len, ci;

	if (own != NULL && own->session == 0)
		own = NULL;	/* authd: one channel for all sessions */
	memset(&in, 0, sizeof(in));
	memset(sent, 0, sizeof(sent));
	if (event_parse(m, role, &in) == -1) {
		snprintf(sum, ssz, "malformed %.48s event", in.ev);
		return -1;
	}
	if (event_lookup(role, in.ev, &fixed) == -1) {
		snprintf(sum, ssz, "event %.48s is not one a %s reports",
		    in.ev, ipc_role_name(role));
		return -1;
	}
	context_values(own, ctx, sid, sport, dport);
	for (i = 0; i < in.n; i++) {
		if ((ci = context_index(in.k[i])) == -1)
			continue;
		/* what the writer knows, or the event implies, is not the
		 * sender's to state */
		if ((own != NULL && ci > 0) || (ci == 0 && fixed != NULL) ||
		    sent[ci] != NULL) {
			snprintf(sum, ssz, "%.48s event states %s", in.ev,
			    in.k[i]);
			return -1;
		}
		sent[ci] = in.v[i];
	}
	if (fixed == NULL && (sent[0] == NULL || (strcmp(sent[0], "success") &&
	    strcmp(sent[0], "failure")))) {
		snprintf(sum, ssz, "%.48s event without a valid outcome",
		    in.ev);
		return -1;
	}
	ctx[0] = fixed != NULL ? fixed : sent[0];
	for (c = 1; c < NCONTEXT; c++)
		if (ctx[c] == NULL)
			ctx[c] = sent[c];
	/* a parent or authd event about a session: the rest of its
	 * addresses from that session's channel */
	if (own == NULL && about != NULL && ctx[1] != NULL &&
	    parse_u32(ctx[1], UINT32_MAX, &sidv) == 0 &&
	    (other = about(sidv)) != NULL) {
		const char *octx[NCONTEXT];

		context_values(other, octx, osid, osport, odport);
		for (c = 2; c < NCONTEXT - 1; c++)
			if (ctx[c] == NULL)
				ctx[c] = octx[c];
	}
	len = pid > 0 ? snprintf(f, fsz, "\"event\":\"%s\",\"role\":\"%s\","
	    "\"pid\":\"%d\"", in.ev, ipc_role_name(role), (int)pid) :
	    snprintf(f, fsz, "\"event\":\"%s\",\"role\":\"%s\"", in.ev,
	    ipc_role_name(role));
	if (len < 0 || (size_t)len >= fsz)
		return -1;
	fl = (size_t)len;
	/* the short form leads with the client address, so a pattern
	 * anchored on the event name finds it before any value a client
	 * chose (fail2ban) */
	strlcpy(sum, in.ev, ssz);
	if (ctx[2] != NULL)
		add_summary(sum, ssz, "src", ctx[2]);
	for (c = 0; c < NCONTEXT; c++) {
		if (ctx[c] == NULL)
			continue;
		if (add_field(f, fsz, &fl, context_keys[c], ctx[c]) == -1)
			goto toolong;
		if (c != 2)
			add_summary(sum, ssz, context_keys[c], ctx[c]);
	}
	for (i = 0; i < in.n; i++) {
		if (context_index(in.k[i]) != -1)
			continue;
		if (add_field(f, fsz, &fl, in.k[i], in.v[i]) == -1)
			goto toolong;
		add_summary(sum, ssz, in.k[i], in.v[i]);
	}
	return 0;
toolong:
	snprintf(sum, ssz, "%.48s event too long", in.ev);
	return -1;
}

/*
 * Start-up: a partial last line (a crash mid-write) is cut off, whole
 * lines the state has not seen (a crash between the line and the state)
 * are absorbed, and an empty file gets its first record.  A state ahead
 * of the file cannot be mended: the keys for the missing records are
 * gone, so we refuse to go on rather than write a chain with a hole.
 */
void
audit_recover(struct audit_chain *ch, int fd, int dirfd, const char *name)
{
	char buf[2 * AUDIT_LINE_MAX + 2], line[AUDIT_LINE_MAX + 1];
	char why[AUDIT_WHY_MAX];
	struct stat st;
	off_t start;
	ssize_t r;
	size_t len, pos, end;
	uint64_t last = 0;
	char *nl;

	if (fstat(fd, &st) == -1)
		fatal("audit file");
	if (st.st_size == 0) {
		if ((r = audit_chain_file_start(ch, NULL, line,
		    sizeof(line))) == -1 ||
		    fd_write_all(fd, line, (size_t)r) == -1 ||
		    audit_chain_state_save(ch, dirfd, name, 0) == -1)
			fatal("audit file: first record");
		return;
	}
	start = st.st_size > (off_t)sizeof(buf) - 1 ?
	    st.st_size - (off_t)sizeof(buf) + 1 : 0;
	if ((r = pread(fd, buf, sizeof(buf) - 1, start)) <= 0)
		fatal("audit file: reading its end");
	len = (size_t)r;
	buf[len] = '\0';
	end = len;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (end < len) {
		log_warnx("audit file: cutting off a partial record of %zu "
		    "bytes left by a crash", len - end);
		if (ftruncate(fd, start + (off_t)end) == -1)
			fatal("audit file: ftruncate");
	}
	/* whole lines after the first line break in the window */
	pos = start == 0 ? 0 : (size_t)(strchr(buf, '\n') - buf) + 1;
	while (pos < end && (nl = memchr(buf + pos, '\n', end - pos))) {
		len = (size_t)(nl - (buf + pos)) + 1;
		last = audit_peek_seq(buf + pos, len);
		/* lines the state has seen go back in sequence: skip them */
		if (audit_chain_absorb(ch, buf + pos, len, why,
		    sizeof(why)) == -1 && strstr(why, "goes back") == NULL)
			fatalx("audit file and audit_state do not agree (%s); "
			    "rotate the audit file and verify the old one", why);
		pos += len;
	}
	if (last < ch->seq)
		fatalx("audit_state is at record %llu but the audit file ends "
		    "at %llu: records were lost; rotate the audit file and "
		    "verify the old one", (unsigned long long)ch->seq,
		    (unsigned long long)last);
	if (audit_chain_state_save(ch, dirfd, name, 0) == -1)
		fatal("audit_state");
}
