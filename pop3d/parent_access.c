/*
 * The parent's access policy, applied to each connection as it is
 * accepted, before any session process sees a byte of it: the listener's
 * access list (first match wins), the global session limit, and the
 * per-source limits (sessions per IPv4 address or IPv6 /64, connections
 * per minute).  A refused connection gets one -ERR line, for a limit, or
 * nothing at all, for a rule, and is closed.  SIGHUP re-reads the lists
 * and limits; a configuration that does not parse changes nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "parent.h"
#include "util.h"

/* A one-line answer that must not block us: the socket is non-blocking
 * and the line fits any send buffer. */
static void
refuse_with(int fd, const char *line)
{
	if (line != NULL)
		(void)send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static int
rule_allows(struct parent *p, int li, const struct ip_addr *a,
    const char *host)
{
	const struct access_list *acl = config_access_for(&p->conf, li);
	int rule;

	if (acl == NULL || access_check(acl, a, &rule) == ACCESS_ALLOW)
		return 1;
	if (rule >= 0)
		log_info("refused %s: access %s rule %d (deny %s)", host,
		    acl->name, rule + 1, acl->rule[rule].text);
	else
		log_info("refused %s: access %s default deny", host,
		    acl->name);
	parent_audit(p, "conn.refuse", "src", host, "reason", "access",
	    "list", acl->name, "rule", rule >= 0 ? acl->rule[rule].text :
	    "default", (char *)NULL);
	return 0;
}

static void
utc_string(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strlcpy(buf, "?", len);
}

static int
banned(struct parent *p, const struct ip_addr *src, const char *host)
{
	const struct ban *b = bans_check(&p->bans, src, time(NULL));
	char until[32];

	if (b == NULL)
		return 0;
	utc_string(b->until, until, sizeof(until));
	log_info("refused %s: banned until %s (%s)", host, until, b->reason);
	parent_audit(p, "conn.refuse", "src", host, "reason", "banned",
	    "until", until, (char *)NULL);
	return 1;
}

static void
save_bans(struct parent *p)
{
	if (p->conf.ban_file[0] != '\0' &&
	    bans_save(&p->bans, p->conf.ban_file) == -1)
		log_warnx("bans not saved to %s; they end with this run",
		    p->conf.ban_file);
}

/* authd's verdict on a source: refuse it for the seconds it says. */
void
parent_ban(struct parent *p, struct ipc_msg *m)
{
	char addr[IPC_MAX_STR + 1], reason[IPC_MAX_STR + 1], until[32];
	char host[IP_ADDR_STRLEN];
	struct ip_addr a, src;
	uint32_t secs;
	time_t end;

	if (ipc_get_str(m, addr, sizeof(addr)) == -1 ||
	    ipc_get_u32(m, &secs) == -1 ||
	    ipc_get_str(m, reason, sizeof(reason)) == -1 ||
	    ipc_get_end(m) == -1 || ip_addr_parse(addr, &a) == -1) {
		log_warnx("authd: malformed AUTHD_BAN, ignored");
		return;
	}
	ip_addr_source(&a, &src);
	end = time(NULL) + (time_t)secs;
	bans_expire(&p->bans, time(NULL));
	bans_add(&p->bans, &src, end, reason);
	ip_addr_str(&src, host, sizeof(host));
	utc_string(end, until, sizeof(until));
	log_warnx("ban %s%s until %s: %s", host, src.family == AF_INET6 ?
	    "/64" : "", until, reason);
	if (src.family == AF_INET6)
		strlcat(host, "/64", sizeof(host));
	parent_audit(p, "auth.ban", "src", host, "until", until, "reason",
	    reason, (char *)NULL);
	save_bans(p);
}

/* At start-up: the bans of the previous run that are still in force. */
void
parent_bans_load(struct parent *p)
{
	if (bans_init(&p->bans) == -1)
		fatal("ban table");
	if (p->conf.ban_file[0] == '\0')
		return;
	if (bans_load(&p->bans, p->conf.ban_file, time(NULL)) == -1)
		fatal("ban file %s", p->conf.ban_file);
	if (p->bans.n > 0)
		log_info("%zu bans in force from %s", p->bans.n,
		    p->conf.ban_file);
}

/*
 * Decides on a connection accepted on listener li (an index into
 * p->conf.listen).  Returns 0 when it may have a session (its source is
 * then counted until parent_source_done()), -1 when it was refused and
 * closed.
 */
int
parent_admit(struct parent *p, int li, int fd, const struct sockaddr *sa,
    socklen_t salen, struct ip_addr *src)
{
	enum source_verdict v;
	struct ip_addr a;
	char host[IP_ADDR_STRLEN];

	if (ip_addr_from_sockaddr(sa, salen, &a) == -1) {
		refuse_with(fd, NULL);
		return -1;
	}
	ip_addr_str(&a, host, sizeof(host));
	ip_addr_source(&a, src);
	if (banned(p, src, host) || !rule_allows(p, li, &a, host)) {
		refuse_with(fd, NULL);
		return -1;
	}
	v = sources_admit(&p->sources, src, monotonic_ms(),
	    p->conf.max_sessions_per_ip, p->conf.max_connections_per_minute);
	if (v != SOURCE_OK) {
		log_warnx("refused %s: %s", host, sources_verdict_name(v));
		parent_audit(p, "conn.refuse", "src", host, "reason",
		    sources_verdict_name(v), (char *)NULL);
		refuse_with(fd, "-ERR [SYS/TEMP] Too many connections from "
		    "your address, try later\r\n");
		return -1;
	}
	return 0;
}

/* A session's connection is over: its source holds one session fewer. */
void
parent_source_done(struct parent *p, struct child *c)
{
	if (!c->counted)
		return;
	sources_release(&p->sources, &c->source);
	c->counted = 0;
}

/*
 * SIGHUP: takes the access lists and limits from the configuration file
 * as it is now.  Listeners, users and the rest need a restart; a file that
 * does not parse leaves everything as it was.
 */
int
parent_reload_policy(struct parent *p)
{
	static struct config next;
	int i;

	if (config_load(&next, p->conffile) == -1) {
		log_warnx("SIGHUP: %s not reloaded; the running configuration "
		    "stays", p->conffile);
		config_free(&next);
		return -1;
	}
	/* the listeners' access names must keep naming lists */
	for (i = 0; i < p->conf.nlisten; i++)
		strlcpy(p->conf.listen[i].access, i < next.nlisten ?
		    next.listen[i].access : "", sizeof(p->conf.listen[i].access));
	config_free(&p->conf);
	p->conf.access = next.access;
	p->conf.naccess = next.naccess;
	next.access = NULL;
	next.naccess = 0;
	p->conf.max_sessions_per_ip = next.max_sessions_per_ip;
	p->conf.max_connections_per_minute = next.max_connections_per_minute;
	log_info("SIGHUP: access lists and per-source limits reloaded "
	    "(%zu lists)", p->conf.naccess);
	return 0;
}
