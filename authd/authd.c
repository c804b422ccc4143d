/*
 * pop3d-authd: the one process that holds the password hashes.  The parent
 * execs it as root with its channel on fd 3; it loads the configuration and
 * the users file, keeps a descriptor of the users file's directory for
 * reloads, starts the Argon2id workers, then chroots, drops to auth_user
 * and only then says HELLO.  The parent hands it one channel per session;
 * on each, a session may ask to verify credentials, one request at a time
 * and a bounded number of failures.  The verdict goes to the session as a
 * bare OK/FAIL; who logged in and where the mailbox is goes to the parent
 * only.  Unknown users, disabled accounts and refused hashes are verified
 * against a dummy hash and answered after the same delay, byte for byte
 * like a wrong password.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_send.h"
#include "config.h"
#include "hashpolicy.h"
#include "penalty.h"
#include "report.h"
#include "ipc.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"
#include "userdb.h"
#include "username.h"
#include "util.h"
#include "verify.h"

#define PARENT_FD	3
#define RELOAD_CHECK_MS	1000	/* users file stat at most this often */
#define ADDR_MAX	(64 + 1) /* as IPC_AUTHD_SESSION allows */
#define LOGNAME_MAX	96	/* escaped user name in log lines */
#define MECH_MAX	16

/* One session's channel to us. */
struct schan {
	int		 used;
	struct ipc_chan	 chan;
	uint32_t	 session;
	char		 addr[ADDR_MAX];
	int		 pending;	/* a request is not answered yet */
	uint64_t	 ticket;	/* its job, or 0 */
	uint64_t	 fail_at;	/* send AUTH_FAIL then; 0: not yet */
	uint32_t	 failures;
};

/* A verification and what the main thread needs to act on its verdict. */
struct auth_job {
	struct verify_job v;	/* first: verify.c hands this back */
	size_t		 slot;
	uint64_t	 arrived_ms;
	const char	*reason;	/* forced failure, or NULL */
	char		 mech[MECH_MAX];
	char		 canon[USERNAME_MAX];
	char		 logname[LOGNAME_MAX];
	char		 mailbox[USERDB_MAILBOX_MAX];
};

struct users_stamp {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
};

static struct authd {
	struct config	 conf;
	struct hash_policy pol;
	struct ipc_chan	 parent;
	struct userdb	 db;
	int		 dirfd;		/* users file's directory */
	char		 users_base[NAME_MAX + 1];
	struct users_stamp stamp;	/* of the file loaded */
	struct users_stamp bad_stamp;	/* of the last file we refused */
	uint64_t	 checked_ms;
	int		 stat_failed;	/* told the log already */
	char		 dummy[crypto_pwhash_STRBYTES];
	int		 result_fd;
	struct schan	*ch;
	size_t		 nch, maxch;
	uint64_t	 next_ticket;
	uint64_t	 busy_logged_ms;
	unsigned long	 busy_suppressed;
	struct penalties pen;		/* failures per source and user */
	struct ipc_chan	 audit;		/* to the audit writer, or fd -1 */
} ad;

static void	 session_drop(struct authd *, size_t, const char *);

/* -- the users file ------------------------------------------------------ */

static void
users_problem(void *arg, size_t line, const char *why)
{
	UNUSED(arg);
	log_warnx("users file line %zu: %s", line, why);
}

static void
stamp_of(const struct stat *st, struct users_stamp *s)
{
	memset(s, 0, sizeof(*s));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
}

static int
stamp_equal(const struct users_stamp *a, const struct users_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/*
 * Reads the users file through the directory descriptor.  On any failure
 * the database in use stays as it was.
 */
static int
users_load(struct authd *a)
{
	struct stat st;
	int fd, r;

	fd = openat(a->dirfd, a->users_base, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		log_warn("users file %s", a->conf.users_file);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("users file %s: not a regular file",
		    a->conf.users_file);
		close(fd);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		log_warnx("users file %s: writable by others, refusing it",
		    a->conf.users_file);
		close(fd);
		return -1;
	}
	r = userdb_load_fd(&a->db, fd, users_problem, NULL);
	if (r == -1)
		log_warn("users file %s", a->conf.users_file);
	close(fd);
	if (r == -1)
		return -1;
	stamp_of(&st, &a->stamp);
	log_info("users file %s: %zu users", a->conf.users_file, a->db.n);
	return 0;
}

static void
users_open(struct authd *a)
{
	char dir[PATH_MAX], base[PATH_MAX];

	strlcpy(dir, a->conf.users_file, sizeof(dir));
	strlcpy(base, a->conf.users_file, sizeof(base));
	if (strlcpy(a->users_base, basename(base), sizeof(a->users_base)) >=
	    sizeof(a->users_base) || strchr(a->users_base, '/') != NULL ||
	    strcmp(a->users_base, "..") == 0 || strcmp(a->users_base, ".") == 0)
		fatalx("users file %s: bad file name", a->conf.users_file);
	if ((a->dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("users file directory %s", dir);
	if (users_load(a) == -1)
		fatalx("cannot load the users file");
	a->checked_ms = monotonic_ms();
}

/* Before a verification: re-read the file if it changed (once a second). */
static void
users_maybe_reload(struct authd *a)
{
	struct users_stamp now;
	struct stat st;
	uint64_t t = monotonic_ms();

	if (t - a->checked_ms < RELOAD_CHECK_MS)
		return;
	a->checked_ms = t;
	if (fstatat(a->dirfd, a->users_base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (!a->stat_failed)
			log_warn("users file %s (keeping the loaded users)",
			    a->conf.users_file);
		a->stat_failed = 1;
		return;
	}
	a->stat_failed = 0;
	stamp_of(&st, &now);
	if (stamp_equal(&now, &a->stamp) || stamp_equal(&now, &a->bad_stamp))
		return;
	if (users_load(a) == -1) {
		a->bad_stamp = now;
		log_warnx("users file %s changed but cannot be loaded; "
		    "keeping the %zu users loaded before", a->conf.users_file,
		    a->db.n);
	}
}

/* -- start-up ------------------------------------------------------------ */

/* A hash of a random password at today's cost, for users we cannot verify. */
static void
make_dummy(struct authd *a)
{
	unsigned char pw[32];

	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str_alg(a->dummy, (const char *)pw, sizeof(pw),
	    a->conf.argon2_time, a->conf.argon2_memory,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		fatalx("cannot compute the dummy hash (argon2_memory %llu)",
		    (unsigned long long)a->conf.argon2_memory);
	sodium_memzero(pw, sizeof(pw));
}

static void
confine(struct authd *a)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (priv_is_root() &&
	    priv_lookup(a->conf.auth_user, &uid, &gid) == -1)
		fatalx("auth_user %s: no such user", a->conf.auth_user);
	priv_drop(a->conf.empty_dir, uid, gid, PRIV_DIR_ROOT_OWNED);
	/* a channel per session the parent may hand us, and our own */
	priv_limits(PRIV_NO_FILES, (rlim_t)a->maxch + 32);
}

static void
startup(struct authd *a, const char *conffile)
{
	if (fcntl(PARENT_FD, F_GETFD) == -1)
		fatalx("descriptor %d is not open: run me from pop3d",
		    PARENT_FD);
	fd_close_from(PARENT_FD + 1);
	if (fd_set_cloexec(PARENT_FD) == -1 || fd_set_nonblock(PARENT_FD) == -1)
		fatal("parent channel");
	ipc_chan_init(&a->parent, PARENT_FD, ROLE_AUTHD, ROLE_PARENT, "parent");
	ipc_chan_init(&a->audit, -1, ROLE_AUTHD, ROLE_AUDIT, "audit");
	signal(SIGPIPE, SIG_IGN);
	/* RLIMIT_FSIZE is 0 once confined: a log line that falls back to a
	 * stderr redirected to a file must fail, not kill us */
	signal(SIGXFSZ, SIG_IGN);
	if (sodium_init() == -1)
		fatalx("sodium_init");
	if (config_load(&a->conf, conffile) == -1)
		fatalx("%s: configuration not usable", conffile);
	hash_policy_from_config(&a->pol, &a->conf);
	userdb_init(&a->db);
	users_open(a);
	make_dummy(a);
	a->maxch = (size_t)a->conf.max_sessions + a->conf.pool_size;
	a->result_fd = verify_init(a->conf.auth_workers, a->conf.auth_queue);
	confine(a);
	log_to_channel(&a->parent);
	/* before the first request: the users file stays reachable only
	 * through its directory descriptor, read-only */
	sandbox_enter(ROLE_AUTHD, a->dirfd);
	if (ipc_send_hello(&a->parent) == -1)
		fatal("HELLO to parent");
	log_info("ready: %zu users, %u workers, queue %u", a->db.n,
	    a->conf.auth_workers, a->conf.auth_queue);
}

/* -- session channels ---------------------------------------------------- */

static ssize_t
slot_by_session(struct authd *a, uint32_t session)
{
	size_t i;

	for (i = 0; i < a->nch; i++)
		if (a->ch[i].used && a->ch[i].session == session)
			return (ssize_t)i;
	return -1;
}

static ssize_t
slot_free(struct authd *a)
{
	struct schan *n;
	size_t i, ncap;

	for (i = 0; i < a->nch; i++)
		if (!a->ch[i].used)
			return (ssize_t)i;
	if (a->nch >= a->maxch)
		return -1;
	ncap = a->nch ? a->nch * 2 : 16;
	if (ncap > a->maxch)
		ncap = a->maxch;
	if ((n = reallocarray(a->ch, ncap, sizeof(*n))) == NULL) {
		log_warn("session table");
		return -1;
	}
	memset(n + a->nch, 0, (ncap - a->nch) * sizeof(*n));
	a->ch = n;
	i = a->nch;
	a->nch = ncap;
	return (ssize_t)i;
}

static void
session_drop(struct authd *a, size_t i, const char *why)
{
	struct schan *c = &a->ch[i];
	struct verify_job *j;

	if (why != NULL)
		log_warnx("session %u: %s, dropping its channel", c->session,
		    why);
	if (c->ticket != 0 && (j = verify_cancel(c->ticket)) != NULL) {
		sodium_memzero(j, sizeof(struct auth_job));
		free(j);
	}
	ipc_chan_close(&c->chan);
	memset(c, 0, sizeof(*c));
	c->chan.fd = -1;
}

/* The parent hands us authd's end of a new session channel. */
static void
session_add(struct authd *a, struct ipc_msg *m)
{
	char addr[ADDR_MAX], name[32];
	struct schan *c;
	ssize_t i;
	int fd = m->fds[0];

	if (ipc_get_str(m, addr, sizeof(addr)) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("malformed AUTHD_SESSION from parent");
	if ((i = slot_by_session(a, m->session)) != -1)
		session_drop(a, i, "session id reused by the parent");
	if (fd_set_nonblock(fd) == -1 || (i = slot_free(a)) == -1) {
		log_warnx("session %u: cannot take its channel (%zu tracked, "
		    "limit %zu)", m->session, a->nch, a->maxch);
		close(fd);
		return;
	}
	c = &a->ch[i];
	memset(c, 0, sizeof(*c));
	snprintf(name, sizeof(name), "session %u", m->session);
	ipc_chan_init(&c->chan, fd, ROLE_AUTHD, ROLE_SESSION, name);
	c->used = 1;
	c->session = m->session;
	str_escape(c->addr, sizeof(c->addr), addr, strlen(addr));
	if (ipc_send_hello(&c->chan) == -1) {
		log_warn("session %u: HELLO", c->session);
		session_drop(a, i, NULL);
		return;
	}
	log_debug("session %u: channel from %s", c->session, c->addr);
}

static int
send_result(struct authd *a, size_t i, uint32_t code)
{
	struct schan *c = &a->ch[i];
	struct ipc_msg m;

	c->pending = 0;
	c->ticket = 0;
	c->fail_at = 0;
	ipc_msg_init(&m, IPC_AUTH_RESULT, c->session);
	ipc_put_u32(&m, code);
	if (ipc_send(&c->chan, &m) == -1) {
		log_warn("session %u: sending the result", c->session);
		session_drop(a, i, NULL);
		return -1;
	}
	return 0;
}

/* Answers failures whose delay is over; returns the poll timeout. */
static int
run_deadlines(struct authd *a)
{
	uint64_t now = monotonic_ms(), next = 0;
	size_t i;

	for (i = 0; i < a->nch; i++) {
		struct schan *c = &a->ch[i];

		if (!c->used || c->fail_at == 0)
			continue;
		if (c->fail_at <= now) {
			if (send_result(a, i, AUTH_FAIL) == 0 &&
			    ++c->failures >= a->conf.max_auth_failures)
				session_drop(a, i, "too many authentication "
				    "failures");
		} else if (next == 0 || c->fail_at < next)
			next = c->fail_at;
	}
	if (next == 0)
		return -1;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void
log_busy(struct authd *a, uint32_t session)
{
	uint64_t now = monotonic_ms();

	if (now - a->busy_logged_ms < 1000 && a->busy_logged_ms != 0) {
		a->busy_suppressed++;
		return;
	}
	log_warnx("session %u: verification queue full, answering "
	    "TEMPFAIL (%lu more since the last report)", session,
	    a->busy_suppressed);
	a->busy_logged_ms = now;
	a->busy_suppressed = 0;
}

/*
 * Decides which hash the password is checked against.  Anything but a
 * known, enabled user with an acceptable hash gets the dummy, so every
 * request costs the same Argon2 work.
 */
static void
choose_hash(struct authd *a, const char *user, struct auth_job *j)
{
	const struct userdb_entry *e = NULL;
	struct hash_params hp;
	int v;

	if (username_canonical(user, j->canon, sizeof(j->canon)) == -1) {
		j->canon[0] = '\0';
		j->reason = "invalid_user_name";
	} else if ((e = userdb_lookup(&a->db, j->canon)) == NULL)
		j->reason = "unknown_user";
	else if (e->disabled)
		j->reason = "disabled";
	else if ((v = hash_check(e->hash, &a->pol, &hp)) != HASH_OK)
		j->reason = hash_verdict_name(v);
	if (j->canon[0] != '\0')
		strlcpy(j->logname, j->canon, sizeof(j->logname));
	else
		str_escape(j->logname, sizeof(j->logname), user,
		    strnlen(user, 256));
	if (j->reason != NULL) {
		strlcpy(j->v.hash, a->dummy, sizeof(j->v.hash));
		return;
	}
	strlcpy(j->v.hash, e->hash, sizeof(j->v.hash));
	if (e->mailbox != NULL)
		strlcpy(j->mailbox, e->mailbox, sizeof(j->mailbox));
	else if (config_mailbox_path(&a->conf, j->canon, j->mailbox,
	    sizeof(j->mailbox)) == -1)
		j->mailbox[0] = '\0';	/* told at grant time */
}

static int
is_decoy(const struct authd *a, const char *canon)
{
	int i;

	for (i = 0; canon[0] != '\0' && i < a->conf.ndecoy; i++)
		if (strcmp(a->conf.decoy[i], canon) == 0)
			return 1;
	return 0;
}

/*
 * A user whose line lists allowed networks may log in only from them; from
 * elsewhere the login fails like a wrong password, after the same
 * verification.
 */
static void
network_check(struct authd *a, size_t i, struct auth_job *j)
{
	const struct userdb_entry *e;

	if (j->reason != NULL || (e = userdb_lookup(&a->db, j->canon)) ==
	    NULL || e->networks == NULL)
		return;
	if (!userdb_network_allowed(e->networks, a->ch[i].addr))
		j->reason = "network_not_allowed";
}

/* Reads an AUTH_REQUEST into a new job; NULL drops the channel. */
static struct auth_job *
read_request(struct authd *a, size_t i, struct ipc_msg *m, int *tempfail)
{
	char mech[MECH_MAX], user[IPC_MAX_STR + 1];
	struct auth_job *j;
	int bad;

	*tempfail = 0;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		*tempfail = 1;
		return NULL;
	}
	bad = ipc_get_str(m, mech, sizeof(mech)) == -1 ||
	    ipc_get_str(m, user, sizeof(user)) == -1 ||
	    ipc_get_str(m, j->v.password, sizeof(j->v.password)) == -1 ||
	    ipc_get_end(m) == -1;
	if (bad || (strcmp(mech, "USER") != 0 &&
	    strcmp(mech, "PLAIN") != 0)) {
		log_warnx("session %u: %s", a->ch[i].session, bad ?
		    "malformed AUTH_REQUEST" : "unsupported mechanism");
		sodium_memzero(j, sizeof(*j));
		free(j);
		return NULL;
	}
#ifdef POP3D_TEST_HOOKS
	sandbox_test_user("authd", user);
#endif
	strlcpy(j->mech, mech, sizeof(j->mech));
	j->v.passlen = strlen(j->v.password);
	j->slot = i;
	j->arrived_ms = monotonic_ms();
	choose_hash(a, user, j);
	network_check(a, i, j);
	if (is_decoy(a, j->canon))
		j->reason = "decoy_user";	/* verified all the same */
	sodium_memzero(user, sizeof(user));
	return j;
}

static void
session_request(struct authd *a, size_t i, struct ipc_msg *m)
{
	struct schan *c = &a->ch[i];
	struct auth_job *j;
	int tempfail;

	if (c->pending) {
		sodium_memzero(m->data, m->len);
		session_drop(a, i, "request while one is pending");
		return;
	}
	users_maybe_reload(a);
	j = read_request(a, i, m, &tempfail);
	sodium_memzero(m->data, m->len);
	if (j == NULL) {
		if (tempfail)
			send_result(a, i, AUTH_TEMPFAIL);
		else
			session_drop(a, i, "bad request");
		return;
	}
	if (++a->next_ticket == 0)
		a->next_ticket = 1;
	j->v.ticket = a->next_ticket;
	if (verify_submit(&j->v) == -1) {
		log_busy(a, c->session);
		sodium_memzero(j, sizeof(*j));
		free(j);
		send_result(a, i, AUTH_TEMPFAIL);
		return;
	}
	/* j is the workers' now; it comes back through results() */
	c->pending = 1;
	c->ticket = a->next_ticket;
}

static void
session_input(struct authd *a, size_t i)
{
	struct ipc_msg m;
	int r;

	while (a->ch[i].used) {
		r = ipc_recv(&a->ch[i].chan, &m);
		if (r == IPC_AGAIN)
			return;
		if (r == IPC_EOF) {
			log_debug("session %u: channel closed",
			    a->ch[i].session);
			session_drop(a, i, NULL);
			return;
		}
		if (r == IPC_BAD) {
			session_drop(a, i, "protocol violation");
			return;
		}
		if (m.type == IPC_HELLO)
			continue;
		if (m.type != IPC_AUTH_REQUEST) {
			/* the permission table lets nothing else through */
			session_drop(a, i, "unexpected message");
			return;
		}
		session_request(a, i, &m);
	}
}

/* -- verdicts ------------------------------------------------------------ */

static int
send_grant(struct authd *a, struct schan *c, struct auth_job *j)
{
	struct ipc_msg m;

	if (j->mailbox[0] == '\0') {
		log_warnx("session %u: mailbox path for %s too long",
		    c->session, j->canon);
		return -1;
	}
	ipc_msg_init(&m, IPC_AUTHD_GRANT, c->session);
	ipc_put_str(&m, j->canon);
	ipc_put_str(&m, j->mailbox);
	if (ipc_send(&a->parent, &m) == -1) {
		log_warn("session %u: grant to parent", c->session);
		return -1;
	}
	return 0;
}

static void
send_ban(struct authd *a, const struct ip_addr *src, const char *reason)
{
	char host[IP_ADDR_STRLEN];
	struct ipc_msg m;

	ip_addr_str(src, host, sizeof(host));
	ipc_msg_init(&m, IPC_AUTHD_BAN, 0);
	ipc_put_str(&m, host);
	ipc_put_u32(&m, (uint32_t)(a->conf.ban_time_ms / 1000));
	ipc_put_str(&m, reason);
	if (ipc_send(&a->parent, &m) == -1)
		log_warn("ban of %s to parent", host);
	penalty_forget_source(&a->pen, src);
}

/*
 * How long to wait before answering this failure: auth_fail_delay,
 * doubling with the failures of its source and of its user up to
 * auth_fail_delay_max, except for sources in auth_trusted.  Bans the
 * source at ban_threshold failures, or at once for a decoy user name.
 */
static uint64_t
failure_delay(struct authd *a, struct schan *c, struct auth_job *j)
{
	const struct access_list *trusted = a->conf.auth_trusted[0] ?
	    config_access_named(&a->conf, a->conf.auth_trusted) : NULL;
	struct penalty_conf pc = { a->conf.auth_fail_delay_ms,
	    a->conf.auth_fail_delay_max_ms, a->conf.ban_window_ms,
	    a->conf.ban_threshold };
	struct ip_addr ip, src;
	uint64_t delay;
	char why[64];
	int ban;

	if (ip_addr_parse(c->addr, &ip) == -1)
		return pc.base_ms;
	if (trusted != NULL && access_check(trusted, &ip, NULL) ==
	    ACCESS_ALLOW)
		return pc.base_ms;
	ip_addr_source(&ip, &src);
	delay = penalty_fail(&a->pen, &pc, &src, j->canon, monotonic_ms(),
	    &ban);
	if (j->reason != NULL && strcmp(j->reason, "decoy_user") == 0)
		send_ban(a, &src, "decoy user name");
	else if (ban) {
		snprintf(why, sizeof(why), "%u failed logins in %llu s",
		    pc.threshold, (unsigned long long)(pc.window_ms / 1000));
		send_ban(a, &src, why);
	}
	return delay;
}

static void
login_ok(struct authd *a, struct schan *c, struct auth_job *j)
{
	if (penalty_too_soon(&a->pen, j->canon, a->conf.login_delay_ms,
	    monotonic_ms())) {
		log_info("session %u: login of %s from %s refused: "
		    "LOGIN-DELAY", c->session, j->canon, c->addr);
		report_auth(&a->audit, a->conf.audit_file[0] != '\0',
		    "auth.login_delay", c->session,
		    j->canon, c->addr, j->mech, "login_delay");
		send_result(a, j->slot, AUTH_LOGIN_DELAY);
		return;
	}
	if (send_grant(a, c, j) == -1) {
		send_result(a, j->slot, AUTH_TEMPFAIL);
		return;
	}
	log_info("session %u: login user %s from %s", c->session, j->canon,
	    c->addr);
	report_auth(&a->audit, a->conf.audit_file[0] != '\0',
		    "auth.success", c->session, j->canon, c->addr,
	    j->mech, NULL);
	send_result(a, j->slot, AUTH_OK);
}

static void
verdict(struct authd *a, struct auth_job *j)
{
	const char *reason = j->reason;
	struct schan *c;

	if (j->slot >= a->nch || !a->ch[j->slot].used ||
	    a->ch[j->slot].ticket != j->v.ticket)
		return;		/* the session went away meanwhile */
	c = &a->ch[j->slot];
	if (reason == NULL && !j->v.match)
		reason = j->reason = "bad_password";
	if (reason == NULL) {
		login_ok(a, c, j);
		return;
	}
	log_info("session %u: authentication failed for %s from %s (%s)",
	    c->session, j->logname, c->addr, reason);
	report_auth(&a->audit, a->conf.audit_file[0] != '\0',
		    "auth.failure", c->session, j->logname,
	    c->addr, j->mech, reason);
	c->ticket = 0;
	/* +1: arrived_ms was rounded down to the millisecond */
	c->fail_at = j->arrived_ms + failure_delay(a, c, j) + 1;
}

static void
results(struct authd *a)
{
	struct verify_job *v;

	while ((v = verify_done()) != NULL) {
		verdict(a, (struct auth_job *)v);
		sodium_memzero(v, sizeof(struct auth_job));
		free(v);
	}
}

/* -- the event loop ------------------------------------------------------ */

static void
parent_input(struct authd *a)
{
	struct ipc_msg m;
	int r;

	for (;;) {
		r = ipc_recv(&a->parent, &m);
		if (r == IPC_AGAIN)
			return;
		if (r == IPC_EOF) {
			log_debug("parent closed the channel, exiting");
			exit(0);
		}
		if (r == IPC_BAD)
			fatalx("protocol violation on the parent channel");
		if (m.type == IPC_AUTHD_SESSION)
			session_add(a, &m);
		else if (m.type == IPC_AUDIT_LINK) {
			if (audit_link(&a->audit, ROLE_AUTHD, &m) == -1)
				log_warnx("audit channel from the parent "
				    "not usable");
		}
		else if (m.type != IPC_HELLO) {
			ipc_msg_close_fds(&m);
			fatalx("unexpected %s from parent",
			    ipc_type_name(m.type));
		}
	}
}

static void
loop(struct authd *a)
{
	struct pollfd *pfd = NULL;
	size_t *slot = NULL, n, i, cap = 0;
	int timeout;

	for (;;) {
		timeout = run_deadlines(a);
		if (cap < a->nch + 2) {
			cap = a->nch + 2;
			if ((pfd = reallocarray(pfd, cap, sizeof(*pfd))) ==
			    NULL || (slot = reallocarray(slot, cap,
			    sizeof(*slot))) == NULL)
				fatal("poll table");
		}
		pfd[0] = (struct pollfd){ a->parent.fd, POLLIN, 0 };
		pfd[1] = (struct pollfd){ a->result_fd, POLLIN, 0 };
		for (n = 2, i = 0; i < a->nch; i++) {
			if (!a->ch[i].used)
				continue;
			pfd[n] = (struct pollfd){ a->ch[i].chan.fd, POLLIN, 0 };
			slot[n++] = i;
		}
		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		/* sessions first: one that hung up forfeits its verdict */
		for (i = 2; i < n; i++)
			if (pfd[i].revents && a->ch[slot[i]].used &&
			    a->ch[slot[i]].chan.fd == pfd[i].fd)
				session_input(a, slot[i]);
		if (pfd[1].revents)
			results(a);
		if (pfd[0].revents)
			parent_input(a);
	}
}

int
main(int argc, char *argv[])
{
	const char *conffile = SYSCONFDIR "/pop3d.conf";
	int verbose = 0;

	role_getopt(argc, argv, "pop3d-authd", &conffile, &verbose);
	log_init("pop3d-authd", 1, verbose);
	startup(&ad, conffile);
	loop(&ad);
	return 0;
}
