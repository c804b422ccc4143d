/*
 * pop3bench: a small POP3 load generator for any host:port.
 *
 *   login  sessions/s for greeting, USER, PASS, STAT, QUIT (and the close
 *          that follows) at C concurrent connections: one poll(2) loop over
 *          non-blocking sockets; p50/p99 session latency
 *   retr   one session: LIST, then RETR of every listed message (optionally
 *          pipelined), QUIT without DELE; MB/s and messages/s
 *   idle   N authenticated sessions held open; the memory (Pss, or RSS if
 *          the kernel has no smaps_rollup) of the server's process tree
 *          before and after, per session
 *
 * -T speaks implicit TLS (libtls as the client) in every mode: the
 * handshake runs in the same poll loop, on the same non-blocking sockets.
 * -R (login) makes each connection slot offer the session of its previous
 * connection (a libtls client session file per slot) and counts the
 * handshakes the server actually resumed.
 *
 * Output: key=value lines, then a human summary on lines starting "# ".
 * Every wait is bounded by the socket timeout (-T), the whole run by the
 * global timeout (-G, SIGALRM), and every buffer by a fixed size.  A session
 * that gets -ERR, times out or is closed early is an error, never a success.
 * Exit status: 0 all sessions succeeded, 1 some failed, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tls.h>

#define MAX_CONC	4096		/* concurrent connections */
#define MAX_PIDS	64		/* root pids for idle */
#define MAX_MSGS	1000000		/* messages in a LIST */
#define MAX_ERRORS	1000		/* stop starting sessions after this */
#define LINE_MAX_IN	1024		/* one response line */
#define OUT_MAX		512		/* one command */
#define USER_MAX	330
#define PASS_MAX	480		/* "PASS " + this + CRLF fits OUT_MAX */
#define RD_BUFSZ	(256 * 1024)	/* retr read buffer */
#define MAX_TREE	65536		/* processes scanned in /proc */

enum mode { M_NONE, M_LOGIN, M_RETR, M_IDLE };

struct opts {
	const char	*host, *port, *user, *pass, *userfmt;
	enum mode	 mode;
	int		 sock_timeout_ms;
	int		 global_s;
	int		 conc;
	long		 total;		/* login: sessions (0: no limit) */
	int		 seconds;	/* login: time budget (0: none) */
	int		 pipeline;	/* retr: RETRs in flight */
	int		 settle_ms;	/* idle: wait before measuring */
	pid_t		 pids[MAX_PIDS];
	int		 npids;
	const char	*pidfile;
	int		 tls;		/* -T: implicit TLS */
	int		 resume;	/* -R: offer the slot's last session */
	int		 insecure;	/* -k: no certificate verification */
	const char	*cafile;	/* -C */
	const char	*servername;	/* -N; default: the host */
	const char	*protocols;	/* -V, tls_config_parse_protocols() */
};

/* Failure kinds, counted separately and summed into errors= */
enum ekind {
	E_CONNECT, E_TIMEOUT, E_ERR, E_CLOSED, E_PROTO, E_ABORT, E_TLS, E_MAX
};
static const char *ekind_name[E_MAX] = {
	"connect", "timeout", "err_response", "closed", "protocol", "aborted",
	"tls"
};

struct errs {
	long	n[E_MAX];
	char	first[200];		/* the first failure, for diagnosis */
};

static volatile sig_atomic_t stop_flag;	/* SIGALRM (global timeout), SIGINT */
static volatile sig_atomic_t stop_sig;
static struct sockaddr_storage srv_addr;
static socklen_t srv_addrlen;

static void
on_signal(int sig)
{
	stop_flag = 1;
	stop_sig = sig;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double
ns_to_s(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pop3bench [-h host] [-p port] -u user [-P pass] [-U fmt]\n"
	    "           [-s sock_timeout_s] [-G global_timeout_s]\n"
	    "           [-T [-R] [-C cafile | -k] [-N servername] "
	    "[-V protocols]] mode ...\n"
	    "  login -c conc [-n total] [-t seconds]\n"
	    "  retr  [-l pipeline_depth]\n"
	    "  idle  -c sessions (-pid PID[,PID...] | -pidfile file) "
	    "[-w settle_ms]\n"
	    "  -U: user pattern with one %%d (the connection slot), e.g. "
	    "bench%%d@example.org\n"
	    "  -P: else $POP3BENCH_PASS\n"
	    "  -T: implicit TLS; -R: resume each slot's previous session "
	    "(login);\n"
	    "  -C: CA file (default: libtls's); -k: verify neither "
	    "certificate nor name;\n"
	    "  -N: name to verify (default: the host); -V: e.g. tlsv1.2\n");
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("pop3bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long
num_arg(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("%s: expected a number from %ld to %ld, got \"%s\"", what,
		    lo, hi, s);
	return v;
}

/* Copies untrusted server bytes into a printable, bounded string. */
static void
printable(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < dstsz; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			dst[o++] = (char)ch;
		else
			o += (size_t)snprintf(dst + o, dstsz - o, "\\x%02x", ch);
	}
	dst[o] = '\0';
}

static void
err_count(struct errs *e, enum ekind k, const char *step, const char *detail,
    size_t dlen)
{
	char clean[120];

	e->n[k]++;
	if (e->first[0] != '\0')
		return;
	printable(clean, sizeof(clean), detail, dlen);
	snprintf(e->first, sizeof(e->first), "%s at %s: %s", ekind_name[k],
	    step, clean);
}

static long
err_total(const struct errs *e)
{
	long t = 0;
	int i;

	for (i = 0; i < E_MAX; i++)
		t += e->n[i];
	return t;
}

static void
err_print(const struct errs *e)
{
	int i;

	printf("errors=%ld\n", err_total(e));
	for (i = 0; i < E_MAX; i++)
		printf("errors_%s=%ld\n", ekind_name[i], e->n[i]);
	if (e->first[0] != '\0')
		printf("first_error=%s\n", e->first);
}

/*
 * Expands the user pattern: exactly one %d (the slot number), %% for a
 * percent sign.  Checked once in main(), so here it cannot fail.
 */
static int
expand_user(const char *fmt, int idx, char *out, size_t outsz)
{
	size_t o = 0;
	const char *p;

	for (p = fmt; *p != '\0'; p++) {
		char tmp[16];
		const char *add = tmp;

		tmp[0] = *p;
		tmp[1] = '\0';
		if (*p == '%') {
			p++;
			if (*p == 'd')
				snprintf(tmp, sizeof(tmp), "%d", idx);
			else if (*p != '%')
				return -1;
		}
		if (o + strlen(add) >= outsz)
			return -1;
		memcpy(out + o, add, strlen(add));
		o += strlen(add);
	}
	out[o] = '\0';
	return 0;
}

static void
check_userfmt(const char *fmt)
{
	const char *p;
	int nd = 0;

	for (p = fmt; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == 'd')
			nd++;
		else if (*p != '%')
			die("-U: only %%d and %%%% are allowed");
	}
	if (nd != 1)
		die("-U: the pattern needs exactly one %%d");
}

static void
resolve(const char *host, const char *port)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		die("%s port %s: %s", host, port, gai_strerror(rc));
	memcpy(&srv_addr, res->ai_addr, res->ai_addrlen);
	srv_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

/* A socket to the server, connect started; -1 on immediate failure. */
static int
sock_connect(int nonblock)
{
	int fd, one = 1;

	fd = socket(srv_addr.ss_family, SOCK_STREAM, 0);
	if (fd == -1)
		return -1;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
	    == -1) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&srv_addr, srv_addrlen) == -1 &&
	    !(nonblock && errno == EINPROGRESS)) {
		int save = errno;

		close(fd);
		errno = save;
		return -1;
	}
	return fd;
}

static int
is_ok(const char *line, size_t len)
{
	return len >= 3 && memcmp(line, "+OK", 3) == 0 &&
	    (len == 3 || line[3] == ' ');
}

/* ---------------------------------------------------------------------- */
/* TLS client configuration                                               */

/*
 * One tls_config shared by every connection, or with -R one per connection
 * slot, each with its own libtls session file: libtls reads the saved
 * session from it before the handshake (and offers it to the server) and
 * writes the new one into it after.  The files are unlinked at once; only
 * their descriptors remain.
 */
static struct {
	struct tls_config **cfg;
	int		  *sfd;
	int		   n;
} tc;

static struct tls_config *
tc_new_config(const struct opts *o, const uint8_t *ca, size_t calen)
{
	struct tls_config *cfg;
	uint32_t protocols;

	if ((cfg = tls_config_new()) == NULL)
		die("tls_config_new failed");
	if (o->insecure) {
		tls_config_insecure_noverifycert(cfg);
		tls_config_insecure_noverifyname(cfg);
	} else if (ca != NULL && tls_config_set_ca_mem(cfg, ca, calen) == -1)
		die("%s: %s", o->cafile, tls_config_error(cfg));
	if (o->protocols != NULL) {
		if (tls_config_parse_protocols(&protocols, o->protocols) == -1)
			die("-V %s: not understood", o->protocols);
		if (tls_config_set_protocols(cfg, protocols) == -1)
			die("-V %s: %s", o->protocols, tls_config_error(cfg));
	}
	return cfg;
}

/* An unlinked, empty, mode 0600 file for a libtls client session. */
static int
session_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/pop3bench-session.XXXXXX",
	    dir) >= sizeof(path))
		die("TMPDIR too long");
	if ((fd = mkstemp(path)) == -1)
		die("%s: %s", path, strerror(errno));
	(void)unlink(path);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static void
tc_setup(const struct opts *o, int nslots)
{
	uint8_t *ca = NULL;
	size_t calen = 0;
	int i;

	if (tls_init() == -1)
		die("tls_init failed");
	if (o->cafile != NULL && !o->insecure &&
	    (ca = tls_load_file(o->cafile, &calen, NULL)) == NULL)
		die("%s: %s", o->cafile, strerror(errno));
	tc.n = o->resume ? nslots : 1;
	tc.cfg = calloc((size_t)tc.n, sizeof(*tc.cfg));
	tc.sfd = calloc((size_t)tc.n, sizeof(*tc.sfd));
	if (tc.cfg == NULL || tc.sfd == NULL)
		die("out of memory");
	for (i = 0; i < tc.n; i++) {
		tc.cfg[i] = tc_new_config(o, ca, calen);
		tc.sfd[i] = -1;
		if (!o->resume)
			continue;
		tc.sfd[i] = session_file();
		if (tls_config_set_session_fd(tc.cfg[i], tc.sfd[i]) == -1)
			die("session file: %s", tls_config_error(tc.cfg[i]));
	}
	if (ca != NULL)
		tls_unload_file(ca, calen);
}

static struct tls_config *
tc_config(int slot)
{
	return tc.cfg[tc.n == 1 ? 0 : slot];
}

/* -R: does the slot's session file hold a session to offer? */
static int
tc_have_session(int slot)
{
	struct stat st;
	int fd = tc.sfd[tc.n == 1 ? 0 : slot];

	return fd != -1 && fstat(fd, &st) == 0 && st.st_size > 0;
}

static void
tc_free(void)
{
	int i;

	for (i = 0; i < tc.n; i++) {
		tls_config_free(tc.cfg[i]);
		if (tc.sfd[i] != -1)
			close(tc.sfd[i]);
	}
	free(tc.cfg);
	free(tc.sfd);
	tc.cfg = NULL;
	tc.sfd = NULL;
	tc.n = 0;
}

/* A new client context on a connected socket; NULL (and *why) on failure. */
static struct tls *
tc_connect(const struct opts *o, int slot, int fd, char *why, size_t whysz)
{
	struct tls *t;

	if ((t = tls_client()) == NULL)
		die("tls_client failed");
	if (tls_configure(t, tc_config(slot)) == -1 ||
	    tls_connect_socket(t, fd, o->servername) == -1) {
		snprintf(why, whysz, "%s", tls_error(t));
		tls_free(t);
		return NULL;
	}
	return t;
}

/* ---------------------------------------------------------------------- */
/* login and idle: many connections in one poll loop                      */

enum cstate {
	C_FREE = 0, C_CONNECT, C_HANDSHAKE, C_GREET, C_USER, C_PASS, C_STAT,
	C_IDLE, C_QUIT, C_EOF
};
static const char *cstate_name[] = {
	"free", "connect", "TLS handshake", "greeting", "USER", "PASS", "STAT",
	"idle", "QUIT", "close"
};

struct conn {
	int		 fd;
	enum cstate	 st;
	int		 slot;
	uint64_t	 t0;		/* session start */
	uint64_t	 ths;		/* TLS: handshake start */
	uint64_t	 deadline;	/* 0: none (idle) */
	struct tls	*tls;		/* -T: the client context */
	short		 want;		/* -T: events libtls waits for */
	int		 offered;	/* -R: a saved session was offered */
	char		 in[LINE_MAX_IN];
	size_t		 inlen;
	char		 out[OUT_MAX];
	size_t		 outlen, outoff;
};

/* A growing array of latencies, ns. */
struct lats {
	uint64_t	*v;
	size_t		 n, cap;
};

struct engine {
	const struct opts *o;
	struct conn	*c;
	int		 n;
	int		 hold;		/* idle mode: stop at C_IDLE */
	int		 nostart;	/* idle mode: never start sessions */
	long		 started, ok;
	uint64_t	 start_until;	/* 0: no time budget */
	struct lats	 lat;		/* whole sessions */
	struct lats	 hslat;		/* TLS handshakes (TCP connect excluded) */
	long		 handshakes;	/* completed TLS handshakes */
	long		 resumed;	/* of them, resumed by the server */
	long		 offered;	/* of them, offered a saved session */
	long		 unclean;	/* TLS ended without close_notify */
	char		 tls_version[32], tls_cipher[64];
	struct errs	 err;
};

static void
lats_add(struct lats *l, uint64_t v)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 1024;
		uint64_t *p = realloc(l->v, ncap * sizeof(*p));

		if (p == NULL)
			die("out of memory");
		l->v = p;
		l->cap = ncap;
	}
	l->v[l->n++] = v;
}

static void
conn_close(struct conn *c)
{
	if (c->tls != NULL)
		tls_free(c->tls);
	c->tls = NULL;
	c->want = 0;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->st = C_FREE;
	c->inlen = c->outlen = c->outoff = 0;
}

static void
conn_fail(struct engine *e, struct conn *c, enum ekind k, const char *detail,
    size_t dlen)
{
	err_count(&e->err, k, cstate_name[c->st], detail, dlen);
	conn_close(c);
}

/* A libtls failure on c: counted with libtls's message. */
static void
conn_fail_tls(struct engine *e, struct conn *c)
{
	const char *s = tls_error(c->tls);

	if (s == NULL)
		s = "unknown TLS error";
	conn_fail(e, c, E_TLS, s, strlen(s));
}

static void
conn_success(struct engine *e, struct conn *c)
{
	lats_add(&e->lat, now_ns() - c->t0);
	e->ok++;
	conn_close(c);
}

static int
conn_flush(struct engine *e, struct conn *c)
{
	c->want = 0;
	while (c->outoff < c->outlen) {
		ssize_t w;

		if (c->tls != NULL) {
			w = tls_write(c->tls, c->out + c->outoff,
			    c->outlen - c->outoff);
			if (w == TLS_WANT_POLLIN || w == TLS_WANT_POLLOUT) {
				c->want = w == TLS_WANT_POLLIN ? POLLIN :
				    POLLOUT;
				return 0;
			}
			if (w == -1) {
				conn_fail_tls(e, c);
				return -1;
			}
		} else {
			w = send(c->fd, c->out + c->outoff,
			    c->outlen - c->outoff, MSG_NOSIGNAL);
			if (w == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				return 0;
			if (w == -1 && errno == EINTR)
				continue;
		}
		if (w <= 0) {
			const char *s = strerror(errno);

			conn_fail(e, c, E_CLOSED, s, strlen(s));
			return -1;
		}
		c->outoff += (size_t)w;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

/* Queues one command and moves to the state that waits for its answer. */
static int
conn_cmd(struct engine *e, struct conn *c, enum cstate next, const char *cmd,
    const char *arg)
{
	int n;

	n = snprintf(c->out, sizeof(c->out), "%s%s%s\r\n", cmd,
	    arg ? " " : "", arg ? arg : "");
	if (n < 0 || (size_t)n >= sizeof(c->out))
		die("command too long");
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->st = next;
	c->deadline = now_ns() + (uint64_t)e->o->sock_timeout_ms * 1000000ULL;
	return conn_flush(e, c);
}

static void
conn_start(struct engine *e, struct conn *c)
{
	const char *s;

	c->t0 = now_ns();
	c->deadline = c->t0 + (uint64_t)e->o->sock_timeout_ms * 1000000ULL;
	c->inlen = c->outlen = c->outoff = 0;
	e->started++;
	c->st = C_CONNECT;
	if ((c->fd = sock_connect(1)) == -1) {
		s = strerror(errno);
		conn_fail(e, c, E_CONNECT, s, strlen(s));
	}
}

/* One complete response line has arrived. */
static void
conn_line(struct engine *e, struct conn *c, const char *line, size_t len)
{
	char user[USER_MAX];

	if (c->st == C_IDLE || c->st == C_EOF || c->st == C_CONNECT ||
	    c->st == C_HANDSHAKE) {
		conn_fail(e, c, c->st == C_IDLE ? E_CLOSED : E_PROTO, line,
		    len);
		return;
	}
	if (!is_ok(line, len)) {
		conn_fail(e, c, len >= 4 && memcmp(line, "-ERR", 4) == 0 ?
		    E_ERR : E_PROTO, line, len);
		return;
	}
	switch (c->st) {
	case C_GREET:
		if (e->o->userfmt != NULL)
			(void)expand_user(e->o->userfmt, c->slot, user,
			    sizeof(user));
		else
			snprintf(user, sizeof(user), "%s", e->o->user);
		conn_cmd(e, c, C_USER, "USER", user);
		break;
	case C_USER:
		conn_cmd(e, c, C_PASS, "PASS", e->o->pass);
		break;
	case C_PASS:
		conn_cmd(e, c, C_STAT, "STAT", NULL);
		break;
	case C_STAT:
		if (e->hold) {
			c->st = C_IDLE;
			c->deadline = 0;
		} else
			conn_cmd(e, c, C_QUIT, "QUIT", NULL);
		break;
	case C_QUIT:
		/* the session ends when the server closes the connection */
		c->st = C_EOF;
		break;
	default:
		conn_fail(e, c, E_PROTO, line, len);
		break;
	}
}

/* Splits what arrived into lines; 0 while the connection lives. */
static int
conn_lines(struct engine *e, struct conn *c)
{
	char *nl;

	while (c->st != C_FREE &&
	    (nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		size_t used = (size_t)(nl - c->in) + 1, len = used - 1;

		if (len > 0 && c->in[len - 1] == '\r')
			len--;
		conn_line(e, c, c->in, len);
		if (c->st == C_FREE)
			return -1;
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
	if (c->st != C_FREE && c->inlen == sizeof(c->in))
		conn_fail(e, c, E_PROTO, "response line too long", 22);
	return c->st == C_FREE ? -1 : 0;
}

/*
 * TLS: reads until libtls has nothing more (a record may hold more than
 * one line, and libtls may hold decrypted bytes poll cannot see).
 */
static void
conn_readable_tls(struct engine *e, struct conn *c)
{
	ssize_t r;

	for (;;) {
		r = tls_read(c->tls, c->in + c->inlen,
		    sizeof(c->in) - c->inlen);
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			/* POLLIN is always polled for; POLLOUT only if asked */
			c->want = r == TLS_WANT_POLLOUT ? POLLOUT : 0;
			return;
		}
		if (r <= 0) {
			if (c->st == C_EOF) {
				/* the answer to QUIT is in: done */
				if (r == -1)
					e->unclean++;
				conn_success(e, c);
			} else if (r == 0)
				conn_fail(e, c, E_CLOSED, "connection closed",
				    17);
			else
				conn_fail_tls(e, c);
			return;
		}
		c->inlen += (size_t)r;
		if (conn_lines(e, c) == -1)
			return;
	}
}

static void
conn_readable(struct engine *e, struct conn *c)
{
	ssize_t r;

	if (c->tls != NULL) {
		conn_readable_tls(e, c);
		return;
	}
	r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (r <= 0) {
		const char *s = r == 0 ? "connection closed" : strerror(errno);

		if (r == 0 && c->st == C_EOF)
			conn_success(e, c);
		else
			conn_fail(e, c, E_CLOSED, s, strlen(s));
		return;
	}
	c->inlen += (size_t)r;
	(void)conn_lines(e, c);
}

/* Advances the TLS handshake; on completion, on to the greeting. */
static void
conn_handshake(struct engine *e, struct conn *c)
{
	int r = tls_handshake(c->tls);

	if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
		c->want = r == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
		return;
	}
	if (r == -1) {
		conn_fail_tls(e, c);
		return;
	}
	lats_add(&e->hslat, now_ns() - c->ths);
	e->handshakes++;
	if (tls_conn_session_resumed(c->tls))
		e->resumed++;
	if (c->offered)
		e->offered++;
	if (e->tls_version[0] == '\0') {
		const char *v = tls_conn_version(c->tls);
		const char *ci = tls_conn_cipher(c->tls);

		snprintf(e->tls_version, sizeof(e->tls_version), "%s",
		    v ? v : "?");
		snprintf(e->tls_cipher, sizeof(e->tls_cipher), "%s",
		    ci ? ci : "?");
	}
	c->want = 0;
	c->st = C_GREET;
	conn_readable_tls(e, c);	/* the greeting may be in already */
}

/* TCP is up: with -T, the TLS handshake starts. */
static void
conn_connected(struct engine *e, struct conn *c)
{
	char why[200];

	if (!e->o->tls) {
		c->st = C_GREET;
		return;
	}
	c->offered = e->o->resume && tc_have_session(c->slot);
	if ((c->tls = tc_connect(e->o, c->slot, c->fd, why,
	    sizeof(why))) == NULL) {
		conn_fail(e, c, E_TLS, why, strlen(why));
		return;
	}
	c->st = C_HANDSHAKE;
	c->ths = now_ns();
	conn_handshake(e, c);
}

static void
conn_writable(struct engine *e, struct conn *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (c->st == C_CONNECT) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			const char *s = strerror(soerr);

			conn_fail(e, c, E_CONNECT, s, strlen(s));
			return;
		}
		conn_connected(e, c);
		return;
	}
	(void)conn_flush(e, c);
}

/* What to poll for. */
static short
conn_events(const struct conn *c)
{
	short ev;

	if (c->st == C_CONNECT)
		return POLLOUT;
	if (c->st == C_HANDSHAKE)
		return c->want;
	ev = POLLIN;
	if (c->outoff < c->outlen)
		ev |= POLLOUT;
	return ev | c->want;
}

/* Something happened on c's socket. */
static void
conn_event(struct engine *e, struct conn *c, short revents)
{
	if (c->st == C_CONNECT) {
		conn_writable(e, c);
		return;
	}
	if (c->tls != NULL) {
		/* libtls says what it waits for; just retry both ways */
		if (c->st == C_HANDSHAKE) {
			conn_handshake(e, c);
			return;
		}
		if (c->outoff < c->outlen && conn_flush(e, c) == -1)
			return;
		conn_readable_tls(e, c);
		return;
	}
	if (revents & (POLLOUT | POLLERR))
		conn_writable(e, c);
	if (c->st != C_FREE && (revents & (POLLIN | POLLHUP | POLLERR)))
		conn_readable(e, c);
}

static int
may_start(const struct engine *e)
{
	if (e->hold || e->nostart || stop_flag)
		return 0;
	if (e->o->total > 0 && e->started >= e->o->total)
		return 0;
	if (e->start_until != 0 && now_ns() >= e->start_until)
		return 0;
	return err_total(&e->err) < MAX_ERRORS;
}

/* Starts sessions in free slots (login mode only) and counts busy ones. */
static int
engine_fill(struct engine *e, int *nbusy)
{
	int i, nactive = 0;

	*nbusy = 0;
	for (i = 0; i < e->n; i++) {
		struct conn *c = &e->c[i];

		if (c->st == C_FREE && may_start(e))
			conn_start(e, c);
		if (c->st != C_FREE)
			nactive++;
		if (c->st != C_FREE && c->st != C_IDLE)
			(*nbusy)++;
	}
	return nactive;
}

static void
engine_abort(struct engine *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (e->c[i].st != C_FREE)
			conn_fail(e, &e->c[i], E_ABORT, "global timeout", 14);
}

static void
engine_timeouts(struct engine *e)
{
	uint64_t now = now_ns();
	int i;

	for (i = 0; i < e->n; i++) {
		struct conn *c = &e->c[i];

		if (c->st != C_FREE && c->deadline != 0 && now >= c->deadline)
			conn_fail(e, c, E_TIMEOUT, "no answer", 9);
	}
}

static int
engine_poll_timeout(const struct engine *e)
{
	uint64_t now = now_ns(), best = 1000;
	int i;

	for (i = 0; i < e->n; i++) {
		const struct conn *c = &e->c[i];
		uint64_t left;

		if (c->st == C_FREE || c->deadline == 0)
			continue;
		left = c->deadline > now ? (c->deadline - now) / 1000000 : 0;
		if (left < best)
			best = left;
	}
	return (int)best + 1;
}

/*
 * Runs until every slot is free, or (hold) until no slot is still on its
 * way to C_IDLE.
 */
static void
engine_run(struct engine *e)
{
	struct pollfd *pfd;
	int *idx;

	pfd = calloc((size_t)e->n, sizeof(*pfd));
	idx = calloc((size_t)e->n, sizeof(*idx));
	if (pfd == NULL || idx == NULL)
		die("out of memory");
	for (;;) {
		int i, np = 0, nbusy, nactive;

		if (stop_flag) {
			engine_abort(e);
			break;
		}
		nactive = engine_fill(e, &nbusy);
		if (nactive == 0 || (e->hold && nbusy == 0))
			break;
		for (i = 0; i < e->n; i++) {
			struct conn *c = &e->c[i];

			if (c->st == C_FREE)
				continue;
			pfd[np].fd = c->fd;
			pfd[np].events = conn_events(c);
			pfd[np].revents = 0;
			idx[np++] = i;
		}
		if (poll(pfd, (nfds_t)np, engine_poll_timeout(e)) == -1) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (i = 0; i < np; i++) {
			struct conn *c = &e->c[idx[i]];

			if (pfd[i].revents == 0 || c->st == C_FREE)
				continue;
			conn_event(e, c, pfd[i].revents);
		}
		engine_timeouts(e);
	}
	free(pfd);
	free(idx);
}

static struct engine *
engine_new(const struct opts *o, int n, int hold)
{
	struct engine *e = calloc(1, sizeof(*e));
	int i;

	if (e == NULL || (e->c = calloc((size_t)n, sizeof(*e->c))) == NULL)
		die("out of memory");
	e->o = o;
	e->n = n;
	e->hold = hold;
	e->nostart = hold;
	for (i = 0; i < n; i++) {
		e->c[i].fd = -1;
		e->c[i].slot = i;
	}
	return e;
}

static void
engine_free(struct engine *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		conn_close(&e->c[i]);
	free(e->c);
	free(e->lat.v);
	free(e->hslat.v);
	free(e);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted latencies, in ms. */
static double
percentile_ms(const uint64_t *v, size_t n, double pct)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	rank = (size_t)((pct / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1e6;
}

/* Sorts l and gives its mean, p50 and p99 in ms. */
static void
lats_stats(struct lats *l, double *mean, double *p50, double *p99)
{
	size_t i;

	*mean = 0.0;
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
	for (i = 0; i < l->n; i++)
		*mean += (double)l->v[i] / 1e6;
	if (l->n > 0)
		*mean /= (double)l->n;
	*p50 = percentile_ms(l->v, l->n, 50);
	*p99 = percentile_ms(l->v, l->n, 99);
}

/* The TLS figures of a login or idle run. */
static void
print_tls(struct engine *e)
{
	double mean, p50, p99, frac;

	lats_stats(&e->hslat, &mean, &p50, &p99);
	frac = e->handshakes > 0 ? (double)e->resumed /
	    (double)e->handshakes : 0.0;
	printf("tls=1\ntls_resume=%d\ntls_version=%s\ntls_cipher=%s\n",
	    e->o->resume, e->tls_version[0] ? e->tls_version : "-",
	    e->tls_cipher[0] ? e->tls_cipher : "-");
	printf("handshakes=%ld\nhandshakes_offered_session=%ld\n"
	    "handshakes_resumed=%ld\nresumed_fraction=%.3f\n",
	    e->handshakes, e->offered, e->resumed, frac);
	printf("handshake_mean_ms=%.1f\nhandshake_p50_ms=%.1f\n"
	    "handshake_p99_ms=%.1f\ntls_close_without_notify=%ld\n", mean,
	    p50, p99, e->unclean);
	printf("# TLS %s %s: %ld handshakes, p50 %.1f ms, p99 %.1f ms",
	    e->tls_version[0] ? e->tls_version : "-",
	    e->tls_cipher[0] ? e->tls_cipher : "-", e->handshakes, p50, p99);
	if (e->o->resume)
		printf("; resumed %ld of %ld (%.3f), a saved session offered "
		    "in %ld", e->resumed, e->handshakes, frac, e->offered);
	else if (e->resumed > 0)
		printf("; %ld resumed", e->resumed);
	printf("\n");
}

static int
run_login(const struct opts *o)
{
	struct engine *e = engine_new(o, o->conc, 0);
	uint64_t t0, t1;
	double secs, rate, p50, p99, mean;
	int rc;

	t0 = now_ns();
	if (o->seconds > 0)
		e->start_until = t0 + (uint64_t)o->seconds * 1000000000ULL;
	engine_run(e);
	t1 = now_ns();
	secs = ns_to_s(t1 - t0);
	rate = secs > 0 ? (double)e->ok / secs : 0.0;
	lats_stats(&e->lat, &mean, &p50, &p99);

	printf("mode=login\nconcurrency=%d\nstarted=%ld\nsessions_ok=%ld\n",
	    o->conc, e->started, e->ok);
	printf("elapsed_s=%.3f\nsessions_per_s=%.2f\n", secs, rate);
	printf("latency_mean_ms=%.1f\nlatency_p50_ms=%.1f\n"
	    "latency_p99_ms=%.1f\nlatency_max_ms=%.1f\n", mean, p50, p99,
	    e->lat.n ? (double)e->lat.v[e->lat.n - 1] / 1e6 : 0.0);
	err_print(&e->err);
	printf("# login at %d concurrent%s: %ld sessions in %.2f s = %.2f "
	    "sessions/s; latency p50 %.1f ms, p99 %.1f ms; %ld errors\n",
	    o->conc, !o->tls ? "" : o->resume ? " (TLS, resumption)" :
	    " (TLS)", e->ok, secs, rate, p50, p99, err_total(&e->err));
	if (o->tls)
		print_tls(e);
	if (e->err.first[0] != '\0')
		printf("# first error: %s\n", e->err.first);
	rc = e->ok > 0 && err_total(&e->err) == 0 ? 0 : 1;
	engine_free(e);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* idle: memory of the server's process tree                              */

struct proc {
	pid_t	pid, ppid;
};

struct mem {
	long	pss_kib, rss_kib, nprocs;
	int	have_pss;
};

/* Reads "Key:   1234 kB" from a /proc file; -1 if absent. */
static long
proc_kib(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static int
proc_ppid(pid_t pid, pid_t *ppid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	long pp;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 1, " %*c %ld", &pp) != 1)
		return -1;
	*ppid = (pid_t)pp;
	return 0;
}

static size_t
proc_scan(struct proc *v, size_t max)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	if ((d = opendir("/proc")) == NULL)
		die("/proc: %s", strerror(errno));
	while (n < max && (de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 0)
			continue;
		v[n].pid = (pid_t)pid;
		if (proc_ppid(v[n].pid, &v[n].ppid) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static int
cmp_proc(const void *a, const void *b)
{
	pid_t x = ((const struct proc *)a)->pid, y = ((const struct proc *)b)->pid;

	return x < y ? -1 : x > y;
}

/* Index of pid in the pid-sorted table, or -1. */
static long
proc_find(const struct proc *v, size_t n, pid_t pid)
{
	struct proc key = { pid, 0 };
	const struct proc *hit = bsearch(&key, v, n, sizeof(*v), cmp_proc);

	return hit ? (long)(hit - v) : -1;
}

/* Sums memory over the given roots and all their descendants. */
static struct mem
mem_tree(const struct opts *o)
{
	static struct proc all[MAX_TREE];
	static char in_tree[MAX_TREE];
	struct mem m = { 0, 0, 0, 1 };
	size_t n = proc_scan(all, MAX_TREE), i;
	int changed = 1, k, pass;

	qsort(all, n, sizeof(all[0]), cmp_proc);
	memset(in_tree, 0, sizeof(in_tree));
	for (k = 0; k < o->npids; k++) {
		long at = proc_find(all, n, o->pids[k]);

		if (at >= 0)
			in_tree[at] = 1;
	}
	/* one pass per generation; process trees are shallow */
	for (pass = 0; changed && pass < 64; pass++) {
		changed = 0;
		for (i = 0; i < n; i++) {
			long up;

			if (in_tree[i])
				continue;
			up = proc_find(all, n, all[i].ppid);
			if (up >= 0 && in_tree[up]) {
				in_tree[i] = 1;
				changed = 1;
			}
		}
	}
	for (i = 0; i < n; i++) {
		long rss, pss;

		if (!in_tree[i])
			continue;
		if ((rss = proc_kib(all[i].pid, "status", "VmRSS")) < 0)
			continue;	/* exited, or a zombie */
		pss = proc_kib(all[i].pid, "smaps_rollup", "Pss");
		if (pss < 0) {
			m.have_pss = 0;
			pss = rss;
		}
		m.rss_kib += rss;
		m.pss_kib += pss;
		m.nprocs++;
	}
	return m;
}

static void
read_pidfile(struct opts *o)
{
	char buf[64];
	FILE *f;

	if ((f = fopen(o->pidfile, "re")) == NULL)
		die("%s: %s", o->pidfile, strerror(errno));
	if (fgets(buf, sizeof(buf), f) == NULL)
		die("%s: empty", o->pidfile);
	fclose(f);
	buf[strcspn(buf, "\r\n \t")] = '\0';
	if (o->npids == MAX_PIDS)
		die("too many pids");
	o->pids[o->npids++] = (pid_t)num_arg(buf, 1, INT_MAX, o->pidfile);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (!stop_flag && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
run_idle(struct opts *o)
{
	struct engine *e = engine_new(o, o->conc, 1);
	struct mem before, after;
	long held, kept, i;
	double per_pss = 0.0, per_rss = 0.0;
	int rc;

	if (o->pidfile != NULL)
		read_pidfile(o);
	if (o->npids == 0)
		die("idle needs -pid or -pidfile");
	before = mem_tree(o);
	if (before.nprocs == 0) {
		printf("mode=idle\nsessions=%d\nsessions_held=0\nerrors=1\n"
		    "first_error=no process found for the given pids\n"
		    "# idle: no process found for the given pids\n", o->conc);
		engine_free(e);
		return 1;
	}

	for (i = 0; i < e->n; i++)	/* open them all, stop at C_IDLE */
		conn_start(e, &e->c[i]);
	e->started = e->n;
	engine_run(e);
	for (held = 0, i = 0; i < e->n; i++)
		if (e->c[i].st == C_IDLE)
			held++;
	sleep_ms(o->settle_ms);
	after = mem_tree(o);
	for (kept = 0, i = 0; i < e->n; i++)
		if (e->c[i].st == C_IDLE)
			kept++;

	e->hold = 0;			/* now QUIT them all */
	for (i = 0; i < e->n; i++)
		if (e->c[i].st == C_IDLE)
			conn_cmd(e, &e->c[i], C_QUIT, "QUIT", NULL);
	engine_run(e);

	if (held > 0) {
		per_pss = (double)(after.pss_kib - before.pss_kib) /
		    (double)held;
		per_rss = (double)(after.rss_kib - before.rss_kib) /
		    (double)held;
	}
	printf("mode=idle\nsessions=%d\nsessions_held=%ld\n"
	    "sessions_held_at_measure=%ld\nsessions_quit_ok=%ld\n",
	    o->conc, held, kept, e->ok);
	printf("mem_source=%s\n", before.have_pss && after.have_pss ?
	    "pss" : "rss");
	printf("procs_before=%ld\nprocs_after=%ld\n", before.nprocs,
	    after.nprocs);
	printf("pss_before_kib=%ld\npss_after_kib=%ld\n", before.pss_kib,
	    after.pss_kib);
	printf("rss_before_kib=%ld\nrss_after_kib=%ld\n", before.rss_kib,
	    after.rss_kib);
	printf("per_session_pss_kib=%.1f\nper_session_rss_kib=%.1f\n",
	    per_pss, per_rss);
	err_print(&e->err);
	if (o->tls)
		print_tls(e);
	printf("# idle: %ld of %d sessions authenticated and held; server "
	    "tree %ld -> %ld processes, Pss %ld -> %ld KiB: %.1f KiB per "
	    "session (RSS: %.1f KiB); %ld errors\n", held, o->conc,
	    before.nprocs, after.nprocs, before.pss_kib, after.pss_kib,
	    per_pss, per_rss, err_total(&e->err));
	if (e->err.first[0] != '\0')
		printf("# first error: %s\n", e->err.first);
	rc = held == o->conc && err_total(&e->err) == 0 ? 0 : 1;
	engine_free(e);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* retr: one session, blocking socket with SO_RCVTIMEO/SO_SNDTIMEO         */

struct rd {
	int	 fd;
	char	*buf;
	size_t	 off, len;
	const char *why;	/* set on failure */
	enum ekind kind;
	struct tls *tls;	/* -T */
	int	 timeout_ms;
	char	 tlserr[200];	/* libtls's message, for why */
};

static int
rd_fail(struct rd *r, enum ekind k, const char *why)
{
	r->kind = k;
	r->why = why;
	return -1;
}

static int
rd_fail_tls(struct rd *r)
{
	const char *s = tls_error(r->tls);

	snprintf(r->tlserr, sizeof(r->tlserr), "%s",
	    s ? s : "unknown TLS error");
	return rd_fail(r, E_TLS, r->tlserr);
}

/*
 * libtls returned TLS_WANT_POLLIN/POLLOUT: waits for that, until the
 * socket timeout counted from `since'.  The socket blocks (with
 * SO_RCVTIMEO), so this is mostly a timeout that already expired.
 */
static int
rd_tls_wait(struct rd *r, ssize_t want, uint64_t since)
{
	struct pollfd pfd;
	uint64_t end = since + (uint64_t)r->timeout_ms * 1000000ULL, now;

	for (;;) {
		if (stop_flag)
			return rd_fail(r, E_ABORT, "global timeout");
		if ((now = now_ns()) >= end)
			return rd_fail(r, E_TIMEOUT, "no answer");
		pfd.fd = r->fd;
		pfd.events = want == TLS_WANT_POLLOUT ? POLLOUT : POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)((end - now) / 1000000) + 1) > 0)
			return 0;
	}
}

/* The TLS handshake on the blocking socket. */
static int
rd_handshake(struct rd *r)
{
	uint64_t since = now_ns();
	int n;

	while ((n = tls_handshake(r->tls)) != 0) {
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT)
			return rd_fail_tls(r);
		if (rd_tls_wait(r, n, since) == -1)
			return -1;
	}
	return 0;
}

static ssize_t
rd_recv(struct rd *r, char *buf, size_t len)
{
	uint64_t since = now_ns();
	ssize_t n;

	if (r->tls == NULL) {
		for (;;) {
			if (stop_flag)
				return rd_fail(r, E_ABORT, "global timeout");
			if ((n = recv(r->fd, buf, len, 0)) > 0)
				return n;
			if (n == 0)
				return rd_fail(r, E_CLOSED,
				    "connection closed");
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return rd_fail(r, E_TIMEOUT, "no answer");
			return rd_fail(r, E_CLOSED, strerror(errno));
		}
	}
	for (;;) {
		if (stop_flag)
			return rd_fail(r, E_ABORT, "global timeout");
		if ((n = tls_read(r->tls, buf, len)) > 0)
			return n;
		if (n == 0)
			return rd_fail(r, E_CLOSED, "connection closed");
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT)
			return rd_fail_tls(r);
		if (rd_tls_wait(r, n, since) == -1)
			return -1;
	}
}

static int
rd_fill(struct rd *r)
{
	ssize_t n;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == RD_BUFSZ)
		return rd_fail(r, E_PROTO, "line too long");
	if ((n = rd_recv(r, r->buf + r->len, RD_BUFSZ - r->len)) == -1)
		return -1;
	r->len += (size_t)n;
	return 0;
}

/* One line, without its CRLF, into line (NUL-terminated). */
static int
rd_line(struct rd *r, char *line, size_t max)
{
	for (;;) {
		char *p = r->buf + r->off;
		char *nl = memchr(p, '\n', r->len - r->off);

		if (nl != NULL) {
			size_t used = (size_t)(nl - p) + 1, len = used - 1;

			if (len > 0 && p[len - 1] == '\r')
				len--;
			if (len >= max)
				return rd_fail(r, E_PROTO, "line too long");
			memcpy(line, p, len);
			line[len] = '\0';
			r->off += used;
			return 0;
		}
		if (r->len - r->off >= max)
			return rd_fail(r, E_PROTO, "line too long");
		if (rd_fill(r) == -1)
			return -1;
	}
}

/*
 * Skips a multi-line body up to and including the ".CRLF" line; adds the
 * octets read (dot-stuffing, CRLFs and terminator included) to *bytes.
 */
static int
rd_body(struct rd *r, uint64_t *bytes)
{
	int bol = 1;		/* at the beginning of a line */

	for (;;) {
		while (r->off < r->len) {
			char *p = r->buf + r->off, *nl;
			size_t n = r->len - r->off, k;

			if (bol && p[0] == '.') {
				if (n >= 2 && p[1] == '\n')
					k = 2;
				else if (n >= 3 && p[1] == '\r' && p[2] == '\n')
					k = 3;
				else if (n < 3 && (n == 1 || p[1] == '\r'))
					break;		/* need more bytes */
				else
					k = 0;
				if (k > 0) {
					r->off += k;
					*bytes += k;
					return 0;
				}
			}
			if ((nl = memchr(p, '\n', n)) == NULL) {
				*bytes += n;
				r->off = r->len;
				bol = 0;
				break;
			}
			k = (size_t)(nl - p) + 1;
			*bytes += k;
			r->off += k;
			bol = 1;
		}
		if (rd_fill(r) == -1)
			return -1;
	}
}

static int
send_all(struct rd *r, const char *buf, size_t len)
{
	uint64_t since = now_ns();

	while (len > 0) {
		ssize_t w;

		if (r->tls != NULL) {
			w = tls_write(r->tls, buf, len);
			if (w == TLS_WANT_POLLIN || w == TLS_WANT_POLLOUT) {
				if (rd_tls_wait(r, w, since) == -1)
					return -1;
				continue;
			}
			if (w == -1)
				return rd_fail_tls(r);
		} else {
			w = send(r->fd, buf, len, MSG_NOSIGNAL);
			if (w == -1 && errno == EINTR && !stop_flag)
				continue;
			if (w <= 0)
				return rd_fail(r, E_CLOSED, w == 0 ?
				    "connection closed" : strerror(errno));
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Sends a command and expects +OK; line gets the answer. */
static int
rd_cmd(struct rd *r, const char *cmd, const char *arg, char *line, size_t max)
{
	char out[OUT_MAX];
	int n;

	if (cmd != NULL) {
		n = snprintf(out, sizeof(out), "%s%s%s\r\n", cmd,
		    arg ? " " : "", arg ? arg : "");
		if (n < 0 || (size_t)n >= sizeof(out))
			die("command too long");
		if (send_all(r, out, (size_t)n) == -1)
			return -1;
	}
	if (rd_line(r, line, max) == -1)
		return -1;
	if (!is_ok(line, strlen(line)))
		return rd_fail(r, strncmp(line, "-ERR", 4) == 0 ? E_ERR :
		    E_PROTO, line);
	return 0;
}

/* LIST: message numbers and the sum of their sizes. */
static int
rd_list(struct rd *r, uint32_t **msgs, size_t *nmsgs, uint64_t *octets)
{
	char line[LINE_MAX_IN];
	size_t cap = 0;

	if (rd_cmd(r, "LIST", NULL, line, sizeof(line)) == -1)
		return -1;
	*nmsgs = 0;
	*octets = 0;
	for (;;) {
		unsigned long num;
		unsigned long long size;

		if (rd_line(r, line, sizeof(line)) == -1)
			return -1;
		if (strcmp(line, ".") == 0)
			return 0;
		if (sscanf(line, "%lu %llu", &num, &size) != 2 || num == 0 ||
		    num > UINT32_MAX)
			return rd_fail(r, E_PROTO, "bad LIST line");
		if (*nmsgs == MAX_MSGS)
			return rd_fail(r, E_PROTO, "too many messages");
		if (*nmsgs == cap) {
			uint32_t *p;

			cap = cap ? cap * 2 : 1024;
			if ((p = realloc(*msgs, cap * sizeof(*p))) == NULL)
				die("out of memory");
			*msgs = p;
		}
		(*msgs)[(*nmsgs)++] = (uint32_t)num;
		*octets += size;
	}
}

/* RETR of every message, up to depth commands in flight. */
static int
rd_retr_all(struct rd *r, const uint32_t *msgs, size_t n, int depth,
    uint64_t *bytes, size_t *done)
{
	char line[LINE_MAX_IN], batch[64 * 1024];
	size_t sent = 0;

	*done = 0;
	while (*done < n) {
		size_t blen = 0;

		while (sent < n && sent - *done < (size_t)depth &&
		    blen + 32 < sizeof(batch))
			blen += (size_t)snprintf(batch + blen,
			    sizeof(batch) - blen, "RETR %lu\r\n",
			    (unsigned long)msgs[sent++]);
		if (blen > 0 && send_all(r, batch, blen) == -1)
			return -1;
		if (rd_cmd(r, NULL, NULL, line, sizeof(line)) == -1)
			return -1;
		*bytes += strlen(line) + 2;
		if (rd_body(r, bytes) == -1)
			return -1;
		(*done)++;
	}
	return 0;
}

static int
run_retr(const struct opts *o)
{
	struct rd r;
	struct timeval tv;
	struct errs err;
	char line[LINE_MAX_IN];
	uint32_t *msgs = NULL;
	size_t nmsgs = 0, done = 0;
	uint64_t octets = 0, bytes = 0, t0, t1 = 0, t2 = 0, ths = 0;
	double secs = 0.0, mbps = 0.0, mps = 0.0;
	const char *step = "connect";
	char why[200];
	int resumed = 0;

	memset(&err, 0, sizeof(err));
	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.kind = E_PROTO;
	r.why = "";
	r.timeout_ms = o->sock_timeout_ms;
	if ((r.buf = malloc(RD_BUFSZ)) == NULL)
		die("out of memory");
	t0 = now_ns();
	if ((r.fd = sock_connect(0)) == -1) {
		const char *s = strerror(errno);

		err_count(&err, E_CONNECT, step, s, strlen(s));
		goto out;
	}
	tv.tv_sec = o->sock_timeout_ms / 1000;
	tv.tv_usec = (o->sock_timeout_ms % 1000) * 1000;
	(void)setsockopt(r.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(r.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (o->tls) {
		step = "TLS handshake";
		if ((r.tls = tc_connect(o, 0, r.fd, why, sizeof(why))) ==
		    NULL) {
			err_count(&err, E_TLS, step, why, strlen(why));
			goto out;
		}
		if (rd_handshake(&r) == -1)
			goto fail;
		ths = now_ns() - t0;
		resumed = tls_conn_session_resumed(r.tls);
		step = "greeting";
	}

	if (rd_cmd(&r, NULL, NULL, line, sizeof(line)) == -1 ||
	    (step = "USER", rd_cmd(&r, "USER", o->user, line,
	    sizeof(line))) == -1 ||
	    (step = "PASS", rd_cmd(&r, "PASS", o->pass, line,
	    sizeof(line))) == -1 ||
	    (step = "LIST", rd_list(&r, &msgs, &nmsgs, &octets)) == -1)
		goto fail;
	t1 = now_ns();
	step = "RETR";
	if (rd_retr_all(&r, msgs, nmsgs, o->pipeline, &bytes, &done) == -1)
		goto fail;
	t2 = now_ns();
	step = "QUIT";
	if (rd_cmd(&r, "QUIT", NULL, line, sizeof(line)) == -1)
		goto fail;
	secs = ns_to_s(t2 - t1);
	goto out;
fail:
	if (t1 != 0 && t2 == 0 && done > 0) {
		t2 = now_ns();
		secs = ns_to_s(t2 - t1);
	}
	err_count(&err, r.kind, step, r.why, strlen(r.why));
out:
	if (secs > 0) {
		mbps = (double)bytes / 1e6 / secs;
		mps = (double)done / secs;
	}
	printf("mode=retr\npipeline=%d\nmessages=%zu\nmessages_retrieved=%zu\n",
	    o->pipeline, nmsgs, done);
	printf("list_octets=%llu\nwire_bytes=%llu\n",
	    (unsigned long long)octets, (unsigned long long)bytes);
	printf("login_ms=%.1f\n", t1 ? (double)(t1 - t0) / 1e6 : 0.0);
	if (o->tls) {
		const char *v = ths ? tls_conn_version(r.tls) : NULL;
		const char *ci = ths ? tls_conn_cipher(r.tls) : NULL;

		printf("tls=1\ntls_version=%s\ntls_cipher=%s\n"
		    "handshake_ms=%.1f\nhandshakes_resumed=%d\n",
		    v ? v : "-", ci ? ci : "-", (double)ths / 1e6, resumed);
	}
	printf("elapsed_s=%.3f\nmb_per_s=%.2f\nmessages_per_s=%.1f\n", secs,
	    mbps, mps);
	err_print(&err);
	printf("# retr: %zu of %zu messages, %.1f MB on the wire in %.3f s = "
	    "%.1f MB/s, %.0f messages/s (pipeline %d); %ld errors\n", done,
	    nmsgs, (double)bytes / 1e6, secs, mbps, mps, o->pipeline,
	    err_total(&err));
	if (err.first[0] != '\0')
		printf("# first error: %s\n", err.first);
	if (r.tls != NULL)
		tls_free(r.tls);
	if (r.fd != -1)
		close(r.fd);
	free(r.buf);
	free(msgs);
	return err_total(&err) == 0 && done == nmsgs ? 0 : 1;
}

/* ---------------------------------------------------------------------- */

static void
parse_pids(struct opts *o, const char *arg)
{
	char buf[1024], *p, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		die("-pid: list too long");
	memcpy(buf, arg, strlen(arg) + 1);
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (o->npids == MAX_PIDS)
			die("-pid: at most %d pids", MAX_PIDS);
		o->pids[o->npids++] = (pid_t)num_arg(p, 1, INT_MAX, "-pid");
	}
}

static enum mode
parse_mode(const char *s)
{
	if (strcmp(s, "login") == 0)
		return M_LOGIN;
	if (strcmp(s, "retr") == 0)
		return M_RETR;
	if (strcmp(s, "idle") == 0)
		return M_IDLE;
	die("unknown mode \"%s\" (login, retr or idle)", s);
}

/* Options may come before or after the mode word. */
static void
parse_args(struct opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-') {
			if (o->mode != M_NONE)
				usage();
			o->mode = parse_mode(a);
			continue;
		}
		if (strcmp(a, "--help") == 0)
			usage();
		if (strcmp(a, "-T") == 0) {	/* flags: no value */
			o->tls = 1;
			continue;
		}
		if (strcmp(a, "-R") == 0) {
			o->resume = 1;
			continue;
		}
		if (strcmp(a, "-k") == 0) {
			o->insecure = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "-h") == 0)
			o->host = v;
		else if (strcmp(a, "-p") == 0)
			o->port = v;
		else if (strcmp(a, "-u") == 0)
			o->user = v;
		else if (strcmp(a, "-P") == 0)
			o->pass = v;
		else if (strcmp(a, "-U") == 0)
			o->userfmt = v;
		else if (strcmp(a, "-s") == 0)
			o->sock_timeout_ms = (int)num_arg(v, 1, 3600, a) * 1000;
		else if (strcmp(a, "-C") == 0)
			o->cafile = v;
		else if (strcmp(a, "-N") == 0)
			o->servername = v;
		else if (strcmp(a, "-V") == 0)
			o->protocols = v;
		else if (strcmp(a, "-G") == 0)
			o->global_s = (int)num_arg(v, 1, 86400, a);
		else if (strcmp(a, "-c") == 0)
			o->conc = (int)num_arg(v, 1, MAX_CONC, a);
		else if (strcmp(a, "-n") == 0)
			o->total = num_arg(v, 1, 100000000, a);
		else if (strcmp(a, "-t") == 0)
			o->seconds = (int)num_arg(v, 1, 86400, a);
		else if (strcmp(a, "-l") == 0)
			o->pipeline = (int)num_arg(v, 1, 1000, a);
		else if (strcmp(a, "-w") == 0)
			o->settle_ms = (int)num_arg(v, 0, 600000, a);
		else if (strcmp(a, "-pid") == 0 || strcmp(a, "--pid") == 0)
			parse_pids(o, v);
		else if (strcmp(a, "-pidfile") == 0 ||
		    strcmp(a, "--pidfile") == 0)
			o->pidfile = v;
		else
			usage();
	}
}

static void
check_opts(struct opts *o)
{
	if (o->mode == M_NONE)
		usage();
	if (o->userfmt != NULL)
		check_userfmt(o->userfmt);
	if (o->user == NULL && (o->userfmt == NULL || o->mode == M_RETR))
		die("-u user is needed%s", o->mode == M_RETR ?
		    " (retr uses -u, not -U)" : "");
	if (o->pass == NULL && (o->pass = getenv("POP3BENCH_PASS")) == NULL)
		die("no password: -P or $POP3BENCH_PASS");
	if (strlen(o->pass) >= PASS_MAX || strpbrk(o->pass, "\r\n") != NULL ||
	    (o->user != NULL && (strlen(o->user) >= USER_MAX ||
	    strpbrk(o->user, "\r\n") != NULL)))
		die("user or password too long or holds CR/LF");
	if (o->userfmt != NULL && (strlen(o->userfmt) + 12 >= USER_MAX ||
	    strpbrk(o->userfmt, "\r\n") != NULL))
		die("-U: pattern too long or holds CR/LF");
	if (o->mode == M_LOGIN && o->total == 0 && o->seconds == 0)
		o->total = 100;
	if (o->mode == M_IDLE && o->npids == 0 && o->pidfile == NULL)
		die("idle needs -pid PID[,PID...] or -pidfile file");
	if (!o->tls && (o->resume || o->insecure || o->cafile != NULL ||
	    o->servername != NULL || o->protocols != NULL))
		die("-R, -k, -C, -N and -V go with -T");
	if (o->resume && o->mode != M_LOGIN)
		die("-R: login mode only");
	if (o->servername == NULL)
		o->servername = o->host;
}

/* Room for every connection plus a few; raise the soft limit if needed. */
static void
raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need + 16) {
		rl.rlim_cur = (rlim_t)need + 16;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
setup_signals(int global_s)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: interrupt waits */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	alarm((unsigned int)global_s);
}

int
main(int argc, char **argv)
{
	struct opts o;
	int rc = 2;

	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = "110";
	o.sock_timeout_ms = 30 * 1000;
	o.global_s = 120;
	o.conc = 1;
	o.pipeline = 1;
	o.settle_ms = 1000;
	parse_args(&o, argc, argv);
	check_opts(&o);
	resolve(o.host, o.port);
	raise_nofile(o.conc);
	if (o.tls)
		tc_setup(&o, o.mode == M_RETR ? 1 : o.conc);
	setup_signals(o.global_s);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("server=%s:%s\n", o.host, o.port);

	switch (o.mode) {
	case M_LOGIN:
		rc = run_login(&o);
		break;
	case M_RETR:
		rc = run_retr(&o);
		break;
	case M_IDLE:
		rc = run_idle(&o);
		break;
	case M_NONE:
		usage();
	}
	if (stop_flag) {
		printf("stopped_by=%s\n", stop_sig == SIGALRM ?
		    "global_timeout" : "signal");
		printf("# stopped early: %s\n", stop_sig == SIGALRM ?
		    "global timeout (-G)" : "signal");
		rc = 1;
	}
	if (o.tls)
		tc_free();
	return rc;
}
