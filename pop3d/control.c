/*
 * The parent's side of pop3ctl (see control.h): the socket, the clients
 * and the four commands.  A client sends one line, gets one reply and is
 * closed; every read and write is non-blocking and bounded, and a client
 * that is not done by its deadline is dropped, so the root parent never
 * waits for one.  The commands read the parent's tables and lift bans;
 * they never change a limit or touch a session.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "parent.h"
#include "privdrop.h"
#include "util.h"

#define CONTROL_DEADLINE_MS	3000	/* connect to last byte of reply */
#define CONTROL_PAUSE_MS	1000	/* after accept ran out of fds */
#define CONTROL_REPLY_MAX	(1024 * 1024)	/* a full ban table fits */
#define CONTROL_REPLY_LINE	256	/* any one line of a reply */
#define SOURCE_STRLEN		(IP_ADDR_STRLEN + 3)	/* "ADDR/64" */

/* A reply being built; on overflow it ends in an error, not "end". */
struct reply {
	char	*buf;
	size_t	 len, cap;
	int	 full;
};

/* -- the socket ------------------------------------------------------- */

/*
 * A socket file left by an earlier run is removed; anything else at the
 * path (a file, a symlink, a socket a running pop3d still answers on) is
 * refused rather than replaced.
 */
static int
clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, r, e;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("control_socket %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("control_socket %s: exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("control_socket %s: socket", path);
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN) {
		log_warnx("control_socket %s: in use (is pop3d already "
		    "running?)", path);
		return -1;
	}
	if (e != ECONNREFUSED && e != ENOENT) {
		log_warnx("control_socket %s: %s", path, strerror(e));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("control_socket %s: removing the old socket", path);
		return -1;
	}
	return 0;
}

/* The bound socket must be ours and 0600, whatever the umask did. */
static int
check_mode(const char *path)
{
	struct stat st;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		log_warn("control_socket %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0600) {
		log_warnx("control_socket %s: not a socket of ours with mode "
		    "0600 after bind", path);
		return -1;
	}
	return 0;
}

/*
 * Creates, binds and listens on the socket: before the parent's sandbox,
 * which allows neither bind nor listen.  The umask makes it 0600 from the
 * start, so there is no moment when others could connect.
 */
int
control_listen(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control_socket %s: path too long (at most %zu "
		    "bytes)", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	if (clear_stale(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("control_socket %s: socket", path);
		return -1;
	}
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 || check_mode(path) == -1 ||
	    listen(fd, CONTROL_CLIENTS_MAX) == -1) {
		if (r == -1)
			log_warn("control_socket %s: bind", path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Opens the socket at start-up (an empty path: none).  As root a socket
 * that cannot be made is fatal, like a listener; in development mode the
 * daemon runs on without one.
 */
void
control_start(struct control *ctl, const char *path)
{
	struct stat st;

	memset(ctl, 0, sizeof(*ctl));
	ctl->fd = -1;
	if (path[0] == '\0')
		return;
	if ((ctl->fd = control_listen(path)) == -1) {
		if (priv_is_root())
			fatalx("control_socket %s: not usable; see above",
			    path);
		log_warnx("development mode: no control socket, pop3ctl "
		    "cannot reach this pop3d");
		return;
	}
	strlcpy(ctl->path, path, sizeof(ctl->path));
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		ctl->dev = st.st_dev;
		ctl->ino = st.st_ino;
	}
}

static void
client_drop(struct control *ctl, size_t i)
{
	struct control_client *c = &ctl->client[i];

	close(c->fd);
	free(c->out);
	ctl->client[i] = ctl->client[--ctl->nclient];
}

/*
 * Closes everything and removes the socket file if it is still the one
 * we made (unlinkat: the parent's sandbox has no unlink).
 */
void
control_stop(struct control *ctl)
{
	struct stat st;

	while (ctl->nclient > 0)
		client_drop(ctl, 0);
	if (ctl->fd == -1)
		return;
	close(ctl->fd);
	ctl->fd = -1;
	if (fstatat(AT_FDCWD, ctl->path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino)
		(void)unlinkat(AT_FDCWD, ctl->path, 0);
}

/* -- replies -------------------------------------------------------------- */

/* Appends n bytes and a NUL, growing the buffer, up to limit bytes. */
static void
reply_append(struct reply *r, const char *line, size_t n, size_t limit)
{
	size_t need = r->len + n + 1, cap;
	char *nb;

	if (r->full || need > limit) {
		r->full = 1;
		return;
	}
	if (need > r->cap) {
		cap = r->cap == 0 ? 4096 : r->cap;
		while (cap < need)
			cap *= 2;
		if ((nb = realloc(r->buf, cap)) == NULL) {
			r->full = 1;
			return;
		}
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, line, n + 1);
	r->len += n;
}

static void reply_add(struct reply *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one line; room is always kept for the closing line. */
static void
reply_add(struct reply *r, const char *fmt, ...)
{
	char line[CONTROL_REPLY_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		r->full = 1;
	else
		reply_append(r, line, (size_t)n, CONTROL_REPLY_MAX -
		    CONTROL_REPLY_LINE);
}

/* The last line of a listing: "end", or an error if lines were lost. */
static void
reply_end(struct reply *r)
{
	const char *last = r->full ? "error: reply too long, truncated\n" :
	    "end\n";

	r->full = 0;
	reply_append(r, last, strlen(last), CONTROL_REPLY_MAX);
}

/* An address as the tables count it: an IPv6 source is its /64. */
static void
source_str(const struct ip_addr *a, char *buf, size_t size)
{
	ip_addr_str(a, buf, size);
	if (a->family == AF_INET6)
		strlcat(buf, "/64", size);
}

/* -- commands ------------------------------------------------------------- */

static void
show_bans(struct parent *p, struct reply *r, const char *arg)
{
	char host[SOURCE_STRLEN], when[32];
	time_t now = time(NULL);
	const struct ban *b;
	struct tm tm;
	size_t i;

	UNUSED(arg);
	for (i = 0; p->bans.b != NULL && i < p->bans.n; i++) {
		b = &p->bans.b[i];
		if (b->until <= now)
			continue;
		source_str(&b->src, host, sizeof(host));
		if (gmtime_r(&b->until, &tm) == NULL || strftime(when,
		    sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			strlcpy(when, "?", sizeof(when));
		reply_add(r, "%s until %s reason %.*s\n", host, when,
		    BAN_REASON_MAX, b->reason[0] != '\0' ? b->reason : "-");
	}
	reply_end(r);
}

/* The sources worth showing: a session open, or a recent attempt. */
static const struct source *
next_source(const struct source_table *t, size_t *i, uint64_t now,
    uint64_t *attempts)
{
	const struct source *s;

	for (; *i < t->cap; (*i)++) {
		s = &t->slot[*i];
		if (!s->used)
			continue;
		*attempts = sources_recent(s, now);
		if (s->sessions > 0 || *attempts > 0) {
			(*i)++;
			return s;
		}
	}
	return NULL;
}

static void
show_sources(struct parent *p, struct reply *r, const char *arg)
{
	char host[SOURCE_STRLEN];
	uint64_t now = monotonic_ms(), attempts;
	const struct source *s;
	size_t i = 0;

	UNUSED(arg);
	while ((s = next_source(&p->sources, &i, now, &attempts)) != NULL) {
		source_str(&s->addr, host, sizeof(host));
		reply_add(r, "%s sessions %u attempts-last-minute %llu\n",
		    host, s->sessions, (unsigned long long)attempts);
	}
	reply_end(r);
}

static void
show_status(struct parent *p, struct reply *r, const char *arg)
{
	uint64_t now = monotonic_ms(), attempts;
	size_t i = 0, sources = 0, bans = 0;
	time_t wall = time(NULL);

	UNUSED(arg);
	while (next_source(&p->sources, &i, now, &attempts) != NULL)
		sources++;
	for (i = 0; p->bans.b != NULL && i < p->bans.n; i++)
		if (p->bans.b[i].until > wall)
			bans++;
	reply_add(r, "sessions %zu max %u\n", child_count(p, ROLE_SESSION,
	    CH_BUSY) + child_count(p, ROLE_SESSION, CH_GRANTED),
	    p->conf.max_sessions);
	reply_add(r, "sources %zu\n", sources);
	reply_add(r, "bans %zu\n", bans);
	reply_end(r);
}

/* Lifts the ban on ADDRESS's source (its /64 for IPv6), file included. */
static void
unban(struct parent *p, struct reply *r, const char *arg)
{
	char host[SOURCE_STRLEN];
	struct ip_addr a, src;

	if (ip_addr_parse(arg, &a) == -1) {
		reply_add(r, "error: not an IP address\n");
		return;
	}
	ip_addr_source(&a, &src);
	source_str(&src, host, sizeof(host));
	if (p->bans.b == NULL || bans_remove(&p->bans, &src) == -1) {
		reply_add(r, "error: no ban for %s\n", host);
		return;
	}
	log_info("unban %s (pop3ctl)", host);
	parent_audit(p, "auth.unban", "src", host, "by", "pop3ctl",
	    (char *)NULL);
	if (p->conf.ban_file[0] != '\0' &&
	    bans_save(&p->bans, p->conf.ban_file) == -1)
		reply_add(r, "warning: ban lifted, but the ban file was not "
		    "rewritten (see the log)\n");
	reply_add(r, "ok\n");
}

static const struct control_cmd {
	const char	*name;
	int		 has_arg;
	void		 (*fn)(struct parent *, struct reply *, const char *);
} control_cmds[] = {
	{ "show bans", 0, show_bans },
	{ "show sources", 0, show_sources },
	{ "show status", 0, show_status },
	{ "unban", 1, unban },
};

/* Exact words, single spaces; an argument is one non-empty word. */
static void
dispatch(struct parent *p, struct reply *r, const char *line)
{
	const struct control_cmd *cmd;
	const char *rest;
	size_t i, len;

	for (i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++) {
		cmd = &control_cmds[i];
		len = strlen(cmd->name);
		if (strncmp(line, cmd->name, len) != 0)
			continue;
		rest = line + len;
		if (!cmd->has_arg && *rest == '\0') {
			cmd->fn(p, r, NULL);
			return;
		}
		if (cmd->has_arg && rest[0] == ' ' && rest[1] != '\0' &&
		    strchr(rest + 1, ' ') == NULL) {
			cmd->fn(p, r, rest + 1);
			return;
		}
	}
	reply_add(r, "error: unknown command\n");
}

/* -- clients -------------------------------------------------------------- */

static int
printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* The request is in (len bytes, LF excluded) or refused: build the reply. */
static void
client_request(struct parent *p, struct control_client *c, size_t len,
    const char *refusal)
{
	struct reply r = { NULL, 0, 0, 0 };

	if (refusal != NULL)
		reply_add(&r, "error: %s\n", refusal);
	else if (!printable(c->in, len))
		reply_add(&r, "error: malformed request\n");
	else {
		c->in[len] = '\0';
		dispatch(p, &r, c->in);
	}
	c->out = r.buf;
	c->outlen = r.len;
	c->outoff = 0;
}

/* Sends what it can; 1 when the client is done with (reply sent, error). */
static int
client_write(struct control_client *c)
{
	ssize_t n;

	if (c->out == NULL)
		return 1;	/* no memory for a reply */
	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return 1;
		c->outoff += (size_t)n;
	}
	return 1;
}

/* Reads toward one line; 1 when the client is done with. */
static int
client_read(struct parent *p, struct control_client *c)
{
	char *nl;
	ssize_t n;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return 1;
	c->inlen += (size_t)n;
	if ((nl = memchr(c->in, '\n', c->inlen)) != NULL)
		client_request(p, c, (size_t)(nl - c->in), NULL);
	else if (c->inlen == sizeof(c->in))
		client_request(p, c, 0, "request line too long");
	else
		return 0;
	return client_write(c);
}

/* Only root may ask (or, in development mode, the daemon's own user). */
static int
peer_allowed(int fd, uid_t *uid)
{
#ifdef __linux__
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 ||
	    len != sizeof(cr))
		return 0;
	*uid = cr.uid;
#else
	gid_t gid;

	if (getpeereid(fd, uid, &gid) == -1)
		return 0;
#endif
	return *uid == 0 || *uid == geteuid();
}

/* Best effort, never blocks: the socket is non-blocking. */
static void
refuse(int fd, const char *line)
{
	ssize_t r = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)r;
	close(fd);
}

static void
control_accept(struct control *ctl)
{
	struct control_client *c;
	uid_t uid = (uid_t)-1;
	int fd, k;

	for (k = 0; k <= CONTROL_CLIENTS_MAX; k++) {
		fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("control: accept");
				ctl->paused_until = monotonic_ms() +
				    CONTROL_PAUSE_MS;
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("control: accept");
			return;
		}
		if (!peer_allowed(fd, &uid)) {
			log_warnx("control: refused a client with uid %ld",
			    uid == (uid_t)-1 ? -1L : (long)uid);
			refuse(fd, "error: permission denied\n");
			continue;
		}
		if (ctl->nclient == CONTROL_CLIENTS_MAX) {
			log_warnx("control: %d clients already, refusing "
			    "another", CONTROL_CLIENTS_MAX);
			refuse(fd, "error: busy, try again\n");
			continue;
		}
		c = &ctl->client[ctl->nclient++];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->deadline = monotonic_ms() + CONTROL_DEADLINE_MS;
	}
}

size_t
control_pollfds(struct control *ctl, struct pollfd *pfd)
{
	size_t i, n = 0;

	if (ctl->fd == -1)
		return 0;
	pfd[n++] = (struct pollfd){ monotonic_ms() >= ctl->paused_until ?
	    ctl->fd : -1, POLLIN, 0 };
	for (i = 0; i < ctl->nclient; i++)
		pfd[n++] = (struct pollfd){ ctl->client[i].fd,
		    ctl->client[i].out != NULL ? POLLOUT : POLLIN, 0 };
	return n;
}

/*
 * Serves the clients poll() found ready (pfd as filled above, n of them),
 * then accepts new ones, then drops those past their deadline.  Clients
 * come first so that a descriptor closed and reused by accept cannot be
 * mistaken for the one poll() reported.
 */
void
control_events(struct parent *p, const struct pollfd *pfd, size_t n)
{
	struct control *ctl = &p->control;
	uint64_t now;
	size_t i, k;
	int done;

	for (k = 1; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		for (i = 0; i < ctl->nclient; i++)
			if (ctl->client[i].fd == pfd[k].fd) {
				done = ctl->client[i].out != NULL ?
				    client_write(&ctl->client[i]) :
				    client_read(p, &ctl->client[i]);
				if (done)
					client_drop(ctl, i);
				break;
			}
	}
	if (n > 0 && pfd[0].fd != -1 && pfd[0].revents)
		control_accept(ctl);
	now = monotonic_ms();
	for (i = 0; i < ctl->nclient; )
		if (now >= ctl->client[i].deadline) {
			log_warnx("control: client not done in time, dropped");
			client_drop(ctl, i);
		} else
			i++;
}

uint64_t
control_deadline(const struct control *ctl)
{
	uint64_t next = UINT64_MAX;
	size_t i;

	if (ctl->fd != -1 && ctl->paused_until > monotonic_ms())
		next = ctl->paused_until;
	for (i = 0; i < ctl->nclient; i++)
		if (ctl->client[i].deadline < next)
			next = ctl->client[i].deadline;
	return next;
}
