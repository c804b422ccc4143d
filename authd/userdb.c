/*
 * The users-file parser.  The file is copied into one buffer and split in
 * place; each good line becomes an entry pointing into it, sorted by name
 * for lookups.  A bad line is reported with its number and skipped, so one
 * typo locks out one user, not everybody; of two lines for the same user
 * the first wins.  A line whose hash does not parse is kept, flagged, so
 * authd can log why that user cannot log in.  Freeing wipes the buffer:
 * it held every password hash.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "access.h"
#include "hashpolicy.h"
#include "username.h"
#include "userdb.h"
#include "util.h"

struct problem {
	size_t		 line;
	size_t		 seq;	/* keeps the report order stable */
	const char	*why;
};

struct parse_state {
	struct userdb_entry	*ent;
	size_t			 n, cap;
	struct problem		*prob;
	size_t			 nprob, probcap;
	int			 nomem;
};

void
userdb_init(struct userdb *db)
{
	memset(db, 0, sizeof(*db));
}

void
userdb_free(struct userdb *db)
{
	if (db->buf != NULL) {
		sodium_memzero(db->buf, db->buflen);
		free(db->buf);
	}
	free(db->ent);
	free(db->byline);
	userdb_init(db);
}

/* NULL when `path' may be a mailbox override, else why not. */
const char *
userdb_mailbox_problem(const char *path)
{
	const char *p;
	size_t len = strlen(path);

	if (path[0] != '/')
		return "mailbox must be an absolute path";
	if (len >= USERDB_MAILBOX_MAX)
		return "mailbox path too long";
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in mailbox path";
	for (p = path; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return "mailbox path must not contain ..";
	return NULL;
}

static void
add_problem(struct parse_state *ps, size_t line, const char *why)
{
	struct problem *np;
	size_t ncap;

	if (ps->nprob == ps->probcap) {
		ncap = ps->probcap ? ps->probcap * 2 : 16;
		if ((np = reallocarray(ps->prob, ncap, sizeof(*np))) == NULL) {
			ps->nomem = 1;
			return;
		}
		ps->prob = np;
		ps->probcap = ncap;
	}
	ps->prob[ps->nprob].line = line;
	ps->prob[ps->nprob].seq = ps->nprob;
	ps->prob[ps->nprob].why = why;
	ps->nprob++;
}

static struct userdb_entry *
add_entry(struct parse_state *ps)
{
	struct userdb_entry *ne;
	size_t ncap;

	if (ps->n == ps->cap) {
		ncap = ps->cap ? ps->cap * 2 : 64;
		if ((ne = reallocarray(ps->ent, ncap, sizeof(*ne))) == NULL) {
			ps->nomem = 1;
			return NULL;
		}
		ps->ent = ne;
		ps->cap = ncap;
	}
	memset(&ps->ent[ps->n], 0, sizeof(ps->ent[0]));
	return &ps->ent[ps->n++];
}

static int
blank_line(const char *s)
{
	return s[strspn(s, " \t")] == '\0' || s[0] == '#';
}

/*
 * Splits name:hash[:mailbox[:networks]] at its first three ':'; the
 * networks field is the rest of the line, since IPv6 prefixes hold ':'.
 * An empty mailbox field means the template.
 */
static int
split_line(char *s, char **name, char **hash, char **mailbox,
    char **networks)
{
	char *p;

	*name = s;
	*mailbox = *networks = NULL;
	if ((p = strchr(s, ':')) == NULL)
		return -1;
	*p++ = '\0';
	*hash = p;
	if ((p = strchr(p, ':')) == NULL)
		return 0;
	*p++ = '\0';
	*mailbox = p;
	if ((p = strchr(p, ':')) != NULL) {
		*p++ = '\0';
		*networks = p;
	}
	/* "user:hash::networks" keeps the template; "user:hash:" is an
	 * error (an empty path), found by the mailbox check */
	if (**mailbox == '\0' && *networks != NULL)
		*mailbox = NULL;
	return 0;
}

/* Each comma-separated prefix of `list' parses; else why not, in err. */
int
userdb_networks_ok(const char *list, char *err, size_t errlen)
{
	char one[IP_PREFIX_STRLEN + 1];
	struct ip_prefix pfx;
	size_t n;

	if (*list == '\0') {
		snprintf(err, errlen, "empty list of allowed networks");
		return 0;
	}
	for (; *list != '\0'; list += n + (list[n] == ',')) {
		n = strcspn(list, ",");
		if (n == 0 || n >= sizeof(one)) {
			snprintf(err, errlen, "bad allowed network");
			return 0;
		}
		memcpy(one, list, n);
		one[n] = '\0';
		if (ip_prefix_parse(one, &pfx, err, errlen) == -1)
			return 0;
	}
	return 1;
}

/* Whether address `addr' (numeric text) is in one of the networks. */
int
userdb_network_allowed(const char *list, const char *addr)
{
	char one[IP_PREFIX_STRLEN + 1];
	struct ip_prefix pfx;
	struct ip_addr a;
	size_t n;

	if (ip_addr_parse(addr, &a) == -1)
		return 0;
	for (; *list != '\0'; list += n + (list[n] == ',')) {
		n = strcspn(list, ",");
		if (n == 0 || n >= sizeof(one))
			return 0;
		memcpy(one, list, n);
		one[n] = '\0';
		if (ip_prefix_parse(one, &pfx, NULL, 0) == 0 &&
		    ip_prefix_match(&pfx, &a))
			return 1;
	}
	return 0;
}

/* One line, already NUL-terminated in place; `len' bytes before the NUL. */
static void
parse_line(struct parse_state *ps, char *s, size_t len, size_t lineno)
{
	char canon[USERNAME_MAX], *name, *hash, *mailbox, *networks;
	static char nerr[160];
	struct userdb_entry *e;
	struct hash_params hp;
	const char *why;

	if (memchr(s, '\0', len) != NULL) {
		add_problem(ps, lineno, "NUL byte in line");
		return;
	}
	if (blank_line(s))
		return;
	if (split_line(s, &name, &hash, &mailbox, &networks) == -1) {
		add_problem(ps, lineno, "malformed line (expected "
		    "user@domain:hash[:mailbox[:networks]])");
		return;
	}
	if (username_canonical(name, canon, sizeof(canon)) == -1 ||
	    strcmp(name, canon) != 0) {
		add_problem(ps, lineno, "malformed user name");
		return;
	}
	if (mailbox != NULL && (why = userdb_mailbox_problem(mailbox))) {
		add_problem(ps, lineno, why);
		return;
	}
	if (networks != NULL && !userdb_networks_ok(networks, nerr,
	    sizeof(nerr))) {
		/* problems are reported later: a fixed text, not nerr */
		add_problem(ps, lineno, "bad allowed networks (prefixes "
		    "such as 192.0.2.0/24 or 2001:db8::/32, comma-separated)");
		return;
	}
	if ((e = add_entry(ps)) == NULL)
		return;
	e->name = name;
	e->hash = hash;
	e->mailbox = mailbox;
	e->networks = networks;
	e->line = lineno;
	e->disabled = hash[0] == '!';
	if (!e->disabled && hash_parse(hash, &hp) != HASH_OK) {
		e->bad_hash = 1;
		add_problem(ps, lineno, "bad hash");
	}
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct userdb_entry *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r != 0)
		return r;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int
name_cmp(const void *a, const void *b)
{
	const struct userdb_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
line_cmp(const void *a, const void *b)
{
	const struct userdb_entry *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

static int
problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts by name, drops every line after the first for a name. */
static void
drop_duplicates(struct parse_state *ps)
{
	size_t i, o = 0;

	if (ps->n == 0)
		return;
	qsort(ps->ent, ps->n, sizeof(ps->ent[0]), entry_cmp);
	for (i = 0; i < ps->n; i++) {
		if (o > 0 &&
		    strcmp(ps->ent[o - 1].name, ps->ent[i].name) == 0) {
			add_problem(ps, ps->ent[i].line, "duplicate user");
			continue;
		}
		ps->ent[o++] = ps->ent[i];
	}
	ps->n = o;
}

static void
split_lines(struct parse_state *ps, char *buf, size_t len)
{
	size_t pos = 0, lineno = 0, n, m;
	char *nl;

	while (pos < len) {
		nl = memchr(buf + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		lineno++;
		buf[pos + n] = '\0';
		m = n;
		if (m > 0 && buf[pos + m - 1] == '\r')
			buf[pos + --m] = '\0';
		if (n >= USERDB_LINE_MAX)
			add_problem(ps, lineno, "line too long");
		else
			parse_line(ps, buf + pos, m, lineno);
		pos += n + 1;
	}
}

/*
 * Replaces the contents of `db' with the users in buf.  Returns the number
 * of problems reported through `cb' (the database holds the good lines),
 * or -1 with db untouched when memory ran out.
 */
int
userdb_parse(struct userdb *db, const char *buf, size_t len,
    userdb_error_cb cb, void *arg)
{
	struct parse_state ps;
	struct userdb new;
	size_t i;

	memset(&ps, 0, sizeof(ps));
	userdb_init(&new);
	if ((new.buf = malloc(len + 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(new.buf, buf, len);
	new.buf[len] = '\0';
	new.buflen = len + 1;
	split_lines(&ps, new.buf, len);
	drop_duplicates(&ps);
	if (!ps.nomem && ps.n > 0 && (new.byline = reallocarray(NULL, ps.n,
	    sizeof(*new.byline))) == NULL)
		ps.nomem = 1;
	if (ps.nomem) {
		free(ps.ent);
		free(ps.prob);
		userdb_free(&new);
		errno = ENOMEM;
		return -1;
	}
	if (ps.n > 0) {
		memcpy(new.byline, ps.ent, ps.n * sizeof(*new.byline));
		qsort(new.byline, ps.n, sizeof(*new.byline), line_cmp);
	}
	new.ent = ps.ent;
	new.n = ps.n;
	if (ps.nprob > 0)
		qsort(ps.prob, ps.nprob, sizeof(*ps.prob), problem_cmp);
	for (i = 0; cb != NULL && i < ps.nprob; i++)
		cb(arg, ps.prob[i].line, ps.prob[i].why);
	free(ps.prob);
	userdb_free(db);
	*db = new;
	return (int)(ps.nprob > INT32_MAX ? INT32_MAX : ps.nprob);
}

/* Reads a whole regular file of at most USERDB_MAX_SIZE bytes. */
int
userdb_read_fd(int fd, char **bufp, size_t *lenp)
{
	struct stat st;
	size_t len = 0, cap;
	ssize_t r;
	char *buf;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if (st.st_size > USERDB_MAX_SIZE) {
		errno = EFBIG;
		return -1;
	}
	/* one byte more than the size, to see a file that grew meanwhile */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL)
		return -1;
	while (len < cap && (r = read(fd, buf + len, cap - len)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			sodium_memzero(buf, cap);
			free(buf);
			return -1;
		}
		len += r;
	}
	if (len == cap) {
		/* it grew while we read: a half-written line is no data */
		sodium_memzero(buf, cap);
		free(buf);
		errno = EAGAIN;
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
userdb_load_fd(struct userdb *db, int fd, userdb_error_cb cb, void *arg)
{
	char *buf;
	size_t len;
	int r, saved;

	if (userdb_read_fd(fd, &buf, &len) == -1)
		return -1;
	r = userdb_parse(db, buf, len, cb, arg);
	saved = errno;
	sodium_memzero(buf, len);
	free(buf);
	errno = saved;
	return r;
}

const struct userdb_entry *
userdb_lookup(const struct userdb *db, const char *name)
{
	struct userdb_entry key;

	if (db->n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = name;
	return bsearch(&key, db->ent, db->n, sizeof(db->ent[0]), name_cmp);
}
