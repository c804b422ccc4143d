/*
 * The pop3d.conf parser.  A keyword table maps each keyword to a typed
 * setter; every value is range-checked and every error names the file, the
 * line and the cause.  Unknown keywords are errors, never ignored: an
 * operator's typo must not silently weaken the configuration.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ipc_proto.h"
#include "log.h"
#include "username.h"
#include "util.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR	"/usr/local/libexec/pop3d"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR	"/etc/pop3d"
#endif

#define MAXARGS		8

enum ctype { C_STR, C_PATH, C_U32, C_SIZE, C_MS, C_LISTEN, C_ACCESS,
    C_DECOY, C_AUDIT };

struct keyword {
	const char	*name;
	enum ctype	 type;
	size_t		 off;
	size_t		 size;		/* for strings: buffer size */
	uint64_t	 min, max;	/* for numbers */
};

#define STR(k, f)  { k, C_STR, offsetof(struct config, f), \
	sizeof(((struct config *)0)->f), 0, 0 }
#define PATH(k, f) { k, C_PATH, offsetof(struct config, f), \
	sizeof(((struct config *)0)->f), 0, 0 }
#define U32(k, f, lo, hi) { k, C_U32, offsetof(struct config, f), 0, lo, hi }
#define SIZE(k, f, lo, hi) { k, C_SIZE, offsetof(struct config, f), 0, lo, hi }
#define MS(k, f, lo, hi) { k, C_MS, offsetof(struct config, f), 0, lo, hi }

#define KiB	1024ULL
#define MiB	(1024ULL * 1024)
#define GiB	(1024ULL * 1024 * 1024)

/* sorted by name */
static const struct keyword keywords[] = {
	{ "access", C_ACCESS, 0, 0, 0, 0 },
	SIZE("argon2_max_memory", argon2_max_memory, 8 * KiB, 4 * GiB),
	U32("argon2_max_time", argon2_max_time, 1, 64),
	SIZE("argon2_memory", argon2_memory, 8 * KiB, 4 * GiB),
	U32("argon2_time", argon2_time, 1, 64),
	{ "audit", C_AUDIT, 0, 0, 0, 0 },
	PATH("audit_file", audit_file),
	SIZE("audit_rotate_size", audit_rotate_size, 0, 1024 * GiB),
	MS("audit_seal_interval", audit_seal_interval_ms, 1000,
	    24 * 3600 * 1000ULL),
	PATH("audit_state", audit_state),
	STR("audit_user", audit_user),
	MS("auth_fail_delay", auth_fail_delay_ms, 0, 60 * 1000),
	MS("auth_fail_delay_max", auth_fail_delay_max_ms, 0, 600 * 1000),
	U32("auth_queue", auth_queue, 1, 100000),
	STR("auth_trusted", auth_trusted),
	STR("auth_user", auth_user),
	U32("auth_workers", auth_workers, 1, 64),
	PATH("ban_file", ban_file),
	U32("ban_threshold", ban_threshold, 0, 100000),
	MS("ban_time", ban_time_ms, 1000, 30 * 24 * 3600 * 1000ULL),
	MS("ban_window", ban_window_ms, 1000, 24 * 3600 * 1000ULL),
	PATH("control_socket", control_socket),
	{ "decoy_users", C_DECOY, 0, 0, 0, 0 },
	PATH("empty_dir", empty_dir),
	STR("hostname", hostname),
	MS("idle_timeout", idle_timeout_ms, 1000, 24 * 3600 * 1000ULL),
	STR("implementation", implementation),
	PATH("libexec_dir", libexec_dir),
	MS("line_timeout", line_timeout_ms, 1000, 3600 * 1000ULL),
	{ "listen", C_LISTEN, 0, 0, 0, 0 },
	MS("login_delay", login_delay_ms, 0, 24 * 3600 * 1000ULL),
	MS("login_timeout", login_timeout_ms, 1000, 3600 * 1000ULL),
	STR("mail_owner", mail_owner),
	PATH("mailbox", mailbox),
	U32("max_auth_failures", max_auth_failures, 1, 100),
	U32("max_bad_commands", max_bad_commands, 1, 1000),
	U32("max_commands", max_commands, 1, 100000000),
	U32("max_connections_per_minute", max_connections_per_minute, 0,
	    1000000),
	U32("max_messages", max_messages, 1, 10000000),
	U32("max_sessions", max_sessions, 1, 100000),
	U32("max_sessions_per_ip", max_sessions_per_ip, 0, 100000),
	U32("pool_size", pool_size, 0, 1000),
	STR("session_user", session_user),
	PATH("tls_cert", tls_cert),
	STR("tls_ciphers", tls_ciphers),
	MS("tls_handshake_timeout", tls_handshake_timeout_ms, 1000,
	    600 * 1000ULL),
	PATH("tls_key", tls_key),
	STR("tls_protocols", tls_protocols),
	MS("tls_ticket_lifetime", tls_ticket_lifetime_ms, 0,
	    24 * 3600 * 1000ULL),
	PATH("users", users_file),
};

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));	/* callers config_free() first */
	strlcpy(c->users_file, SYSCONFDIR "/users", sizeof(c->users_file));
	strlcpy(c->mailbox, "/var/mail/vhosts/%d/%n", sizeof(c->mailbox));
	strlcpy(c->mail_owner, "_pop3mail", sizeof(c->mail_owner));
	strlcpy(c->session_user, "_pop3d", sizeof(c->session_user));
	strlcpy(c->auth_user, "_pop3auth", sizeof(c->auth_user));
	strlcpy(c->empty_dir, "/var/empty", sizeof(c->empty_dir));
	strlcpy(c->libexec_dir, LIBEXECDIR, sizeof(c->libexec_dir));
	c->pool_size = 8;
	c->max_sessions = 512;
	c->auth_workers = 2;
	c->auth_queue = 128;
	c->max_auth_failures = 3;
	c->auth_fail_delay_max_ms = 30 * 1000;
	c->line_timeout_ms = 30 * 1000;
	c->max_commands = 1000000;
	c->ban_threshold = 10;
	c->ban_time_ms = 3600 * 1000;
	c->ban_window_ms = 600 * 1000;
	strlcpy(c->control_socket, "/var/run/pop3d.sock",
	    sizeof(c->control_socket));
	strlcpy(c->audit_user, "_pop3audit", sizeof(c->audit_user));
	c->audit_seal_interval_ms = 60 * 1000;
	c->max_bad_commands = 10;
	c->max_messages = 200000;
	c->argon2_memory = 64 * MiB;
	c->argon2_time = 2;
	c->argon2_max_memory = 256 * MiB;
	c->argon2_max_time = 8;
	strlcpy(c->tls_protocols, "secure", sizeof(c->tls_protocols));
	strlcpy(c->tls_ciphers, "secure", sizeof(c->tls_ciphers));
	c->tls_handshake_timeout_ms = 30 * 1000;
	c->tls_ticket_lifetime_ms = 2 * 3600 * 1000;
	c->auth_fail_delay_ms = 2000;
	c->login_timeout_ms = 120 * 1000;
	c->idle_timeout_ms = 600 * 1000;
}

/* For the unit tests: bsearch() needs the table sorted. */
int
config_keywords_sorted(void)
{
	size_t i;

	for (i = 1; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(keywords[i - 1].name, keywords[i].name) >= 0)
			return 0;
	return 1;
}

static int
kw_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct keyword *)e)->name);
}

static int
set_listen(struct config *c, char **av, int ac, const char **why)
{
	struct listen_conf *l;
	uint32_t port;
	int i;

	if (ac < 2) {
		*why = "listen needs an address and a port";
		return -1;
	}
	if (c->nlisten == CONFIG_MAX_LISTEN) {
		*why = "too many listen lines";
		return -1;
	}
	if (parse_u32(av[1], 65535, &port) == -1 || port == 0) {
		*why = "bad port";
		return -1;
	}
	l = &c->listen[c->nlisten];
	memset(l, 0, sizeof(*l));
	if (strlcpy(l->addr, av[0], sizeof(l->addr)) >= sizeof(l->addr)) {
		*why = "address too long";
		return -1;
	}
	strlcpy(l->port, av[1], sizeof(l->port));
	for (i = 2; i < ac; i++) {
		if (strcmp(av[i], "access") == 0 && i + 1 < ac) {
			if (strlcpy(l->access, av[++i], sizeof(l->access)) >=
			    sizeof(l->access)) {
				*why = "access list name too long";
				return -1;
			}
		} else if (strcmp(av[i], "proxy") == 0 && i + 1 < ac) {
			l->flags |= LISTEN_F_PROXY;
			if (strlcpy(l->proxy, av[++i], sizeof(l->proxy)) >=
			    sizeof(l->proxy)) {
				*why = "proxy list name too long";
				return -1;
			}
		} else if (strcmp(av[i], "allow-plaintext") == 0)
			l->flags |= LISTEN_F_PLAINTEXT_OK;
		else if (strcmp(av[i], "tls") == 0)
			l->flags |= LISTEN_F_TLS;
		else if (strcmp(av[i], "starttls") == 0)
			l->flags |= LISTEN_F_STARTTLS;
		else {
			*why = "unknown listen option";
			return -1;
		}
	}
	if ((l->flags & LISTEN_F_TLS) && (l->flags & LISTEN_F_STARTTLS)) {
		*why = "a listener is either tls or starttls";
		return -1;
	}
	c->nlisten++;
	return 0;
}

static int
access_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < sizeof(((struct access_list *)0)->name) &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static struct access_list *
access_list_named(struct config *c, const char *name, const char **why)
{
	struct access_list *a;
	size_t i;

	for (i = 0; i < c->naccess; i++)
		if (strcmp(c->access[i].name, name) == 0)
			return &c->access[i];
	if (c->naccess == CONFIG_MAX_ACCESS) {
		*why = "too many access lists";
		return NULL;
	}
	if ((a = reallocarray(c->access, c->naccess + 1, sizeof(*a))) ==
	    NULL) {
		*why = "out of memory";
		return NULL;
	}
	c->access = a;
	a = &c->access[c->naccess++];
	memset(a, 0, sizeof(*a));
	strlcpy(a->name, name, sizeof(a->name));
	return a;
}

/* decoy_users NAME...: may be repeated.  Full user names, as in the users
 * file: a name that is not one never reaches authd, so it could not be
 * noticed there. */
static int
set_decoys(struct config *c, char **av, int ac, const char **why)
{
	int i;

	if (ac == 0) {
		*why = "decoy_users needs at least one name";
		return -1;
	}
	for (i = 0; i < ac; i++) {
		if (c->ndecoy == CONFIG_MAX_DECOYS) {
			*why = "too many decoy_users";
			return -1;
		}
		if (username_canonical(av[i], c->decoy[c->ndecoy],
		    sizeof(c->decoy[0])) == -1) {
			*why = "decoy_users: not a user name (local@domain)";
			return -1;
		}
		c->ndecoy++;
	}
	return 0;
}

/* access NAME allow|deny PREFIX..., or access NAME default allow|deny */
static int
set_access(struct config *c, char **av, int ac, const char **why)
{
	static char err[160];
	struct access_list *a;
	enum access_action act;
	int i;

	if (ac < 3 || !access_name_ok(av[0])) {
		*why = "expects: access NAME allow|deny PREFIX..., or access "
		    "NAME default allow|deny (NAME: a-z 0-9 _ -)";
		return -1;
	}
	if ((a = access_list_named(c, av[0], why)) == NULL)
		return -1;
	if (strcmp(av[1], "default") == 0) {
		if (ac != 3 || (strcmp(av[2], "allow") != 0 &&
		    strcmp(av[2], "deny") != 0)) {
			*why = "access NAME default takes allow or deny";
			return -1;
		}
		a->dflt = strcmp(av[2], "allow") == 0 ? ACCESS_ALLOW :
		    ACCESS_DENY;
		a->dflt_set = 1;
		return 0;
	}
	if (strcmp(av[1], "allow") == 0)
		act = ACCESS_ALLOW;
	else if (strcmp(av[1], "deny") == 0)
		act = ACCESS_DENY;
	else {
		*why = "access NAME takes allow, deny or default";
		return -1;
	}
	for (i = 2; i < ac; i++)
		if (access_add(a, act, av[i], err, sizeof(err)) == -1) {
			*why = err;
			return -1;
		}
	return 0;
}

static int
set_value(struct config *c, const struct keyword *kw, char **av, int ac,
    const char **why)
{
	char *field = (char *)c + kw->off;
	uint64_t v;

	if (kw->type == C_LISTEN)
		return set_listen(c, av, ac, why);
	if (kw->type == C_ACCESS)
		return set_access(c, av, ac, why);
	if (kw->type == C_DECOY)
		return set_decoys(c, av, ac, why);
	if (ac != 1) {
		*why = "expects exactly one value";
		return -1;
	}
	if (kw->type == C_AUDIT) {
		if (strcmp(av[0], "required") != 0 &&
		    strcmp(av[0], "optional") != 0) {
			*why = "expects required or optional";
			return -1;
		}
		c->audit_required = strcmp(av[0], "required") == 0;
		return 0;
	}
	if (ac != 1) {
		*why = "expects exactly one value";
		return -1;
	}
	switch (kw->type) {
	case C_PATH:
		if (av[0][0] != '/') {
			*why = "path must be absolute";
			return -1;
		}
		/* FALLTHROUGH */
	case C_STR:
		if (strlcpy(field, av[0], kw->size) >= kw->size) {
			*why = "value too long";
			return -1;
		}
		return 0;
	case C_U32:
		if (parse_u64(av[0], UINT32_MAX, &v) == -1) {
			*why = "not a decimal number";
			return -1;
		}
		break;
	case C_SIZE:
		if (parse_size(av[0], &v) == -1) {
			*why = "not a size (number with K, M or G)";
			return -1;
		}
		break;
	case C_MS:
		if (parse_duration_ms(av[0], &v) == -1) {
			*why = "not a duration (number with ms, s, m or h)";
			return -1;
		}
		break;
	default:
		*why = "internal error";
		return -1;
	}
	if (v < kw->min || v > kw->max) {
		*why = "value out of range";
		return -1;
	}
	if (kw->type == C_U32)
		*(uint32_t *)(void *)field = (uint32_t)v;
	else
		*(uint64_t *)(void *)field = v;
	return 0;
}

/* Splits a line into words; returns the count, or -1 if there are too many. */
static int
split_words(char *line, char **av)
{
	int ac = 0;
	char *p = line;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0' || *p == '#')
			return ac;
		if (ac == MAXARGS)
			return -1;
		av[ac++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
}

static int
check_line_bytes(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    line[i] == 0x7f)
			return -1;
	return 0;
}

static int
parse_line(struct config *c, char *line, size_t len, const char **why)
{
	const struct keyword *kw;
	char *av[MAXARGS];
	int ac;

	if (check_line_bytes(line, len) == -1) {
		*why = "control character in line";
		return -1;
	}
	if ((ac = split_words(line, av)) == -1) {
		*why = "too many words";
		return -1;
	}
	if (ac == 0)
		return 0;
	kw = bsearch(av[0], keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	if (kw == NULL) {
		*why = "unknown keyword";
		return -1;
	}
	return set_value(c, kw, av + 1, ac - 1, why);
}

/*
 * The mailbox template must expand to a different directory for every user:
 * it names the whole user (%u), or the domain and the local part with a '/'
 * or '@' between them (neither can contain one, so "%n.%d" style collisions
 * such as a@b.c.org vs a.b@c.org are impossible).  Escapes are scanned exactly as
 * config_mailbox_path() expands them, so "%%u" does not count.
 */
static int
mailbox_template_ok(const char *t)
{
	const char *p, *d = NULL, *n = NULL;
	int u = 0;

	if (t[0] != '/')
		return 0;
	for (p = t; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		switch (*++p) {
		case 'd': d = p; break;
		case 'n': n = p; break;
		case 'u': u = 1; break;
		case '%': break;
		default: return 0;	/* unknown escape or trailing '%' */
		}
	}
	if (u)
		return 1;
	if (d == NULL || n == NULL)
		return 0;
	if (d > n) {
		p = d;
		d = n;
		n = p;
	}
	return strcspn(d, "/@") < (size_t)(n - d);
}

int
config_uses_tls(const struct config *c)
{
	int i;

	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i].flags & (LISTEN_F_TLS | LISTEN_F_STARTTLS))
			return 1;
	return 0;
}

const struct access_list *
config_access_named(const struct config *c, const char *name)
{
	size_t k;

	for (k = 0; k < c->naccess; k++)
		if (strcmp(c->access[k].name, name) == 0)
			return &c->access[k];
	return NULL;
}

/* The access list of listener i: its own, else "default", else none. */
const struct access_list *
config_access_for(const struct config *c, int i)
{
	return config_access_named(c, c->listen[i].access[0] != '\0' ?
	    c->listen[i].access : "default");
}

void
config_free(struct config *c)
{
	free(c->access);
	c->access = NULL;
	c->naccess = 0;
}

static int
check_consistency(struct config *c, const char *name)
{
	int i;

	if (c->nlisten == 0) {
		log_warnx("%s: no listen line", name);
		return -1;
	}
	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i].access[0] != '\0' &&
		    config_access_for(c, i) == NULL) {
			log_warnx("%s: listen %s %s: no access list named %s",
			    name, c->listen[i].addr, c->listen[i].port,
			    c->listen[i].access);
			return -1;
		}
	for (i = 0; i < c->nlisten; i++)
		if ((c->listen[i].flags & LISTEN_F_PROXY) &&
		    config_access_named(c, c->listen[i].proxy) == NULL) {
			log_warnx("%s: listen %s %s: no access list named %s "
			    "for its trusted proxies", name, c->listen[i].addr,
			    c->listen[i].port, c->listen[i].proxy);
			return -1;
		}
	if ((c->audit_file[0] != '\0') != (c->audit_state[0] != '\0')) {
		log_warnx("%s: audit_file and audit_state go together "
		    "(pop3ctl audit init makes the state)", name);
		return -1;
	}
	if (c->auth_trusted[0] != '\0' &&
	    config_access_named(c, c->auth_trusted) == NULL) {
		log_warnx("%s: auth_trusted: no access list named %s", name,
		    c->auth_trusted);
		return -1;
	}
	if (!mailbox_template_ok(c->mailbox)) {
		log_warnx("%s: mailbox must be an absolute path naming the "
		    "user: %%u, or %%d and %%n with '/' or '@' between them", name);
		return -1;
	}
	if (config_uses_tls(c) && (c->tls_cert[0] == '\0' ||
	    c->tls_key[0] == '\0')) {
		log_warnx("%s: tls and starttls listeners need tls_cert and "
		    "tls_key", name);
		return -1;
	}
	if (c->tls_ticket_lifetime_ms != 0 &&
	    c->tls_ticket_lifetime_ms < 60 * 1000) {
		log_warnx("%s: tls_ticket_lifetime must be 0 (no tickets) or "
		    "at least 60s", name);
		return -1;
	}
	if (c->argon2_memory > c->argon2_max_memory ||
	    c->argon2_time > c->argon2_max_time) {
		log_warnx("%s: argon2_memory/argon2_time exceed their "
		    "ceilings argon2_max_memory/argon2_max_time", name);
		return -1;
	}
	return 0;
}

/* Parses a whole configuration held in memory; `name' is for errors. */
int
config_parse_buf(struct config *c, const char *name, const char *buf,
    size_t len)
{
	char line[1024];
	size_t pos = 0, lineno = 0;
	int errors = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *why = NULL;

		lineno++;
		if (n >= sizeof(line)) {
			log_warnx("%s:%zu: line too long", name, lineno);
			errors++;
		} else {
			memcpy(line, buf + pos, n);
			line[n] = '\0';
			if (n > 0 && line[n - 1] == '\r')
				line[--n] = '\0';
			if (parse_line(c, line, n, &why) == -1) {
				log_warnx("%s:%zu: %s", name, lineno, why);
				errors++;
			}
		}
		pos += n + (nl ? 1 : 0);
	}
	if (errors)
		return -1;
	return check_consistency(c, name);
}

int
config_load(struct config *c, const char *path)
{
	static char buf[CONFIG_MAX_SIZE];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	config_defaults(c);
	strlcpy(c->path, path, sizeof(c->path));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	close(fd);
	if (n == -1) {
		log_warn("%s", path);
		return -1;
	}
	if (len == sizeof(buf)) {
		log_warnx("%s: larger than %d bytes", path, CONFIG_MAX_SIZE);
		return -1;
	}
	return config_parse_buf(c, path, buf, len);
}

/*
 * Expands the mailbox template for a canonical user "local@domain".  The
 * user name grammar (username.c) already excludes '/', so each expansion
 * stays one path component.
 */
int
config_mailbox_path(const struct config *c, const char *user, char *out,
    size_t outsz)
{
	const char *at = strchr(user, '@'), *p;
	char local[CONFIG_NAME_MAX + 1];
	size_t o = 0;

	if (at == NULL || (size_t)(at - user) >= sizeof(local))
		return -1;
	memcpy(local, user, at - user);
	local[at - user] = '\0';
	for (p = c->mailbox; *p != '\0'; p++) {
		const char *add;
		char one[2] = { *p, '\0' };

		if (*p != '%')
			add = one;
		else {
			switch (*++p) {
			case 'd': add = at + 1; break;
			case 'n': add = local; break;
			case 'u': add = user; break;
			case '%': add = "%"; break;
			default: return -1;
			}
		}
		if (strlcpy(out + o, add, outsz - o) >= outsz - o)
			return -1;
		o += strlen(add);
	}
	return 0;
}
