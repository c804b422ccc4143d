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
#include "log.h"
#include "util.h"

#define EVENT_NAME_MAX	48
#define KEY_MAX		32
#define PAIRS_MAX	24
#define VALUE_MAX	512

/* Which role may report what: a session cannot state a login, storaged
 * cannot state a connection. */
static const struct {
	int		 role;
	const char	*event;
} allowed[] = {
	{ ROLE_PARENT, "service.start" },
	{ ROLE_PARENT, "service.reload" },
	{ ROLE_PARENT, "service.stop" },
	{ ROLE_PARENT, "conn.accept" },
	{ ROLE_PARENT, "conn.refuse" },
	{ ROLE_PARENT, "auth.ban" },
	{ ROLE_PARENT, "auth.unban" },
	{ ROLE_PARENT, "security.sandbox_kill" },
	{ ROLE_PARENT, "service.authd_restart" },
	{ ROLE_AUTHD, "auth.success" },
	{ ROLE_AUTHD, "auth.failure" },
	{ ROLE_AUTHD, "auth.login_delay" },
};

static int
event_allowed(int role, const char *ev)
{
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i].role == role &&
		    strcmp(allowed[i].event, ev) == 0)
			return 1;
	return 0;
}

static int
key_ok(const char *k)
{
	/* who sent it is ours to say; the chain's members are the library's */
	static const char *reserved[] = { "role", "pid", "event", "seq", "ts",
	    "chain", "chain_id", "tag" };
	size_t i, n = strlen(k);

	if (n == 0 || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return 0;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(k, reserved[i]) == 0)
			return 0;
	return 1;
}

/* Appends ,"key":"escaped value" (and " key=value" to the summary). */
static int
add_pair(char *f, size_t fsz, size_t *fl, char *sum, size_t ssz,
    const char *k, const char *v)
{
	char esc[VALUE_MAX * 6 + 1];
	int n;

	audit_json_str(esc, sizeof(esc), v, strlen(v));
	n = snprintf(f + *fl, fsz - *fl, ",\"%s\":\"%s\"", k, esc);
	if (n < 0 || (size_t)n >= fsz - *fl)
		return -1;
	*fl += (size_t)n;
	if (strlen(sum) + strlen(k) + strlen(esc) + 3 < ssz) {
		strlcat(sum, " ", ssz);
		strlcat(sum, k, ssz);
		strlcat(sum, "=", ssz);
		strlcat(sum, esc, ssz);
	}
	return 0;
}

/*
 * The record fields of an AUDIT_EVENT from `role'; -1 with the reason in
 * `summary' when it is malformed or not that role's to report.
 */
int
audit_event_fields(int role, pid_t pid, struct ipc_msg *m, char *f,
    size_t fsz, char *sum, size_t ssz)
{
	char ev[EVENT_NAME_MAX], k[KEY_MAX], v[VALUE_MAX];
	uint32_t n, i;
	size_t fl;
	int len;

	if (ipc_get_str(m, ev, sizeof(ev)) == -1 || ipc_get_u32(m, &n) == -1 ||
	    n > PAIRS_MAX) {
		strlcpy(sum, "malformed event", ssz);
		return -1;
	}
	if (!event_allowed(role, ev)) {
		snprintf(sum, ssz, "event %.48s is not one a %s reports", ev,
		    ipc_role_name(role));
		return -1;
	}
	len = pid > 0 ? snprintf(f, fsz, "\"event\":\"%s\",\"role\":\"%s\","
	    "\"pid\":\"%d\"", ev, ipc_role_name(role), (int)pid) :
	    snprintf(f, fsz, "\"event\":\"%s\",\"role\":\"%s\"", ev,
	    ipc_role_name(role));
	if (len < 0 || (size_t)len >= fsz)
		return -1;
	fl = (size_t)len;
	strlcpy(sum, ev, ssz);
	for (i = 0; i < n; i++) {
		if (ipc_get_str(m, k, sizeof(k)) == -1 ||
		    ipc_get_str(m, v, sizeof(v)) == -1 || !key_ok(k) ||
		    add_pair(f, fsz, &fl, sum, ssz, k, v) == -1) {
			snprintf(sum, ssz, "malformed %.48s event", ev);
			return -1;
		}
	}
	if (ipc_get_end(m) == -1) {
		snprintf(sum, ssz, "malformed %.48s event", ev);
		return -1;
	}
	return 0;
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
