/*
 * pop3ctl: the administrator's tool.  It hashes passwords with the same
 * Argon2id parameters the server is configured for, adds, removes, lists
 * and re-keys users in the users file (through userdb_edit.c's locked,
 * atomic rewrite, so a running authd only ever sees a whole file) and
 * checks the configuration and the users file with the parsers the daemons
 * use.  Passwords come from the terminal without echo, or as one line on
 * standard input for scripts, and are wiped as soon as they are hashed.
 * bans, sources, status and unban ask the running pop3d over its control
 * socket (pop3ctl_control.c); audit init and audit verify manage the
 * audit trail's chain (pop3ctl_audit.c).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "hashpolicy.h"
#include "log.h"
#include "pop3ctl_audit.h"
#include "pop3ctl_control.h"
#include "privdrop.h"
#include "userdb.h"
#include "userdb_edit.h"
#include "username.h"
#include "util.h"

#define PASS_MAX	1024	/* bytes; the session accepts no more */
#define SAFE_MAX	128	/* an untrusted name, escaped, in messages */

struct cmd {
	const char	*name;
	int		 (*fn)(struct config *, int, char **);
};

static const char *conffile = SYSCONFDIR "/pop3d.conf";
static volatile sig_atomic_t caught;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pop3ctl [-f config] hash\n"
	    "       pop3ctl [-f config] user add name [mailbox]\n"
	    "       pop3ctl [-f config] user del name\n"
	    "       pop3ctl [-f config] user passwd name\n"
	    "       pop3ctl [-f config] user list\n"
	    "       pop3ctl [-f config] check\n"
	    "       pop3ctl [-f config] bans | sources | status\n"
	    "       pop3ctl [-f config] unban address\n"
	    "       pop3ctl audit init statefile\n"
	    "       pop3ctl audit verify [--max-age seconds] "
	    "keyhex | --key-file file  file ...\n");
	exit(1);
}

/* An argument from the command line, made safe to print. */
static const char *
safe(const char *s)
{
	static char buf[2][SAFE_MAX];
	static int i;

	i = !i;
	str_escape(buf[i], sizeof(buf[i]), s, strlen(s));
	return buf[i];
}

static void
load_config(struct config *c)
{
	if (config_load(c, conffile) == -1)
		errx(1, "%s: configuration not usable", conffile);
}

/* -- passwords ------------------------------------------------------------ */

static void
on_signal(int sig)
{
	caught = sig;
}

/* Reads one line from fd into buf; -1 on EOF before any byte or on error. */
static int
read_line(int fd, char *buf, size_t size, size_t *lenp, int *toolong)
{
	size_t n = 0;
	ssize_t r;
	char c;

	*toolong = 0;
	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR && !caught)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			if (n == 0)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
		else
			*toolong = 1;
	}
	buf[n] = '\0';
	*lenp = n;
	return 0;
}

/* Prompts on the terminal with echo off; the terminal is always restored. */
static int
read_tty(const char *prompt, char *buf, size_t size, size_t *lenp,
    int *toolong)
{
	struct sigaction sa, old[5];
	static const int sigs[5] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
	    SIGTSTP };
	struct termios t, saved;
	int i, r;

	if (tcgetattr(STDIN_FILENO, &saved) == -1)
		err(1, "tcgetattr");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 5; i++)
		sigaction(sigs[i], &sa, &old[i]);
	t = saved;
	t.c_lflag &= ~(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1)
		err(1, "tcsetattr");
	r = read_line(STDIN_FILENO, buf, size, lenp, toolong);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	fputc('\n', stderr);
	for (i = 0; i < 5; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (caught) {
		sodium_memzero(buf, size);
		raise(caught);
		errx(1, "interrupted");
	}
	return r;
}

/* Refuses what no POP3 client could send and what we would not store. */
static void
check_password(char *buf, size_t size, size_t len, int toolong)
{
	const char *why = NULL;

	if (toolong || len > PASS_MAX)
		why = "password too long (at most 1024 bytes)";
	else if (len == 0)
		why = "empty password";
	else if (memchr(buf, '\0', len) != NULL || memchr(buf, '\r', len))
		why = "password contains NUL or CR";
	if (why != NULL) {
		sodium_memzero(buf, size);
		errx(1, "%s", why);
	}
}

/*
 * A new password: asked twice on a terminal, else one line of stdin.
 * buf must hold PASS_MAX + 2 bytes.
 */
static size_t
get_password(char *buf, size_t size)
{
	char again[PASS_MAX + 2];
	size_t len, len2;
	int toolong, toolong2, same;

	if (!isatty(STDIN_FILENO)) {
		if (read_line(STDIN_FILENO, buf, size, &len, &toolong) == -1)
			errx(1, "no password on standard input");
		check_password(buf, size, len, toolong);
		return len;
	}
	if (read_tty("Password: ", buf, size, &len, &toolong) == -1)
		errx(1, "no password");
	check_password(buf, size, len, toolong);
	if (read_tty("Retype password: ", again, sizeof(again), &len2,
	    &toolong2) == -1)
		len2 = (size_t)-1;
	same = len == len2 && sodium_memcmp(buf, again, len) == 0;
	sodium_memzero(again, sizeof(again));
	if (!same) {
		sodium_memzero(buf, size);
		errx(1, "passwords do not match");
	}
	return len;
}

/* Reads a password and returns its PHC string; the password is wiped. */
static void
new_hash(const struct config *c, char *out)
{
	char pw[PASS_MAX + 2];
	size_t len;
	int r;

	sodium_mlock(pw, sizeof(pw));
	len = get_password(pw, sizeof(pw));
	r = crypto_pwhash_str_alg(out, pw, len, c->argon2_time,
	    c->argon2_memory, crypto_pwhash_ALG_ARGON2ID13);
	sodium_munlock(pw, sizeof(pw));		/* wipes it too */
	if (r != 0)
		errx(1, "cannot compute the Argon2id hash (argon2_memory "
		    "%llu bytes: out of memory?)",
		    (unsigned long long)c->argon2_memory);
}

/* -- the users file ------------------------------------------------------ */

static void
ignore_problem(void *arg, size_t line, const char *why)
{
	UNUSED(line);
	UNUSED(why);
	(*(size_t *)arg)++;
}

/* Loads the users file without a lock (renames make it consistent). */
static int
read_users(const struct config *c, struct userdb *db, size_t *problems)
{
	int fd, r;

	userdb_init(db);
	*problems = 0;
	if ((fd = open(c->users_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return errno == ENOENT ? 0 : -1;
	r = userdb_load_fd(db, fd, ignore_problem, problems);
	close(fd);
	return r == -1 ? -1 : 0;
}

static void
canonical_arg(const char *arg, char *canon, size_t size)
{
	if (username_canonical(arg, canon, size) == -1)
		errx(1, "malformed user name: %s (expected local@domain with "
		    "letters, digits, '.', '_' and '-')", safe(arg));
}

static int
user_exists(const struct config *c, const char *canon)
{
	struct userdb db;
	size_t problems;
	int r;

	if (read_users(c, &db, &problems) == -1)
		err(1, "%s", c->users_file);
	r = userdb_lookup(&db, canon) != NULL;
	userdb_free(&db);
	return r;
}

/* New users files belong to root and auth_user's group, mode 0640. */
static gid_t
new_file_group(const struct config *c)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() == 0 && priv_lookup(c->auth_user, &uid, &gid) == 0)
		return gid;
	return (gid_t)-1;
}

/* Runs `edit' on the locked users file and writes the result. */
static int
rewrite(const struct config *c, const char *canon, const char *line,
    int (*check)(const struct userdb *, const char *),
    int (*edit)(const char *, size_t, const char *, const char *, char **,
    size_t *))
{
	struct userdb_edit e;
	struct userdb db;
	char *out = NULL;
	size_t outlen = 0;
	int r;

	if (userdb_edit_begin(&e, c->users_file, new_file_group(c)) == -1)
		errx(1, "%s", e.err);
	userdb_init(&db);
	if (e.old != NULL && userdb_parse(&db, e.old, e.oldlen, NULL,
	    NULL) == -1)
		err(1, "%s", c->users_file);
	if ((r = check(&db, canon)) != 0) {
		userdb_free(&db);
		userdb_edit_end(&e);
		return r;
	}
	userdb_free(&db);
	if ((r = edit(e.old, e.oldlen, canon, line, &out, &outlen)) == -1)
		err(1, "%s", c->users_file);
	if (r == 0) {
		userdb_edit_free(out, outlen);
		userdb_edit_end(&e);
		return 2;
	}
	if (userdb_edit_commit(&e, out, outlen) == -1)
		errx(1, "%s", e.err);
	userdb_edit_free(out, outlen);
	userdb_edit_end(&e);
	return 0;
}

static int
must_be_new(const struct userdb *db, const char *canon)
{
	return userdb_lookup(db, canon) != NULL;
}

static int
must_exist(const struct userdb *db, const char *canon)
{
	return userdb_lookup(db, canon) == NULL;
}

/* del also takes out lines the parser skips, such as a bad mailbox. */
static int
any_line(const struct userdb *db, const char *canon)
{
	UNUSED(db);
	UNUSED(canon);
	return 0;
}

static int
append_line(const char *old, size_t oldlen, const char *canon,
    const char *line, char **out, size_t *outlen)
{
	UNUSED(canon);
	return userdb_edit_append(old, oldlen, line, out, outlen) == -1 ?
	    -1 : 1;
}

static int
remove_lines(const char *old, size_t oldlen, const char *canon,
    const char *unused, char **out, size_t *outlen)
{
	UNUSED(unused);
	return userdb_edit_remove(old, oldlen, canon, out, outlen);
}

static int
set_hash(const char *old, size_t oldlen, const char *canon, const char *hash,
    char **out, size_t *outlen)
{
	return userdb_edit_sethash(old, oldlen, canon, hash, out, outlen);
}

/* -- Maildir creation ------------------------------------------------------ */

/*
 * Opens (creating if need be) one directory below dirfd.  Directories we
 * create are never followed through a symlink and are handed to the mail
 * owner; existing ones are left as they are.
 */
static int
open_or_make(int dirfd, const char *name, uid_t uid, gid_t gid, int chown_it,
    int *created)
{
	int fd;

	*created = 0;
	if (mkdirat(dirfd, name, 0700) == 0)
		*created = 1;
	else if (errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (*created ? O_NOFOLLOW : 0));
	if (fd == -1 || !*created)
		return fd;
	if ((chown_it && fchown(fd, uid, gid) == -1) ||
	    fchmod(fd, 0700) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* mkdir -p of the mailbox with cur/, new/ and tmp/; 1 if it was created. */
static int
make_maildir(const char *path, uid_t uid, gid_t gid, int chown_it)
{
	static const char *sub[] = { "cur", "new", "tmp" };
	char buf[PATH_MAX], *p, *next;
	int fd, nfd, created = 0, made = 0;
	size_t i;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf) || buf[0] != '/')
		errx(1, "%s: bad mailbox path", safe(path));
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(1, "/");
	for (p = buf + 1; p != NULL && *p != '\0'; p = next) {
		if ((next = strchr(p, '/')) != NULL)
			*next++ = '\0';
		if (*p == '\0')
			continue;
		nfd = open_or_make(fd, p, uid, gid, chown_it, &created);
		if (nfd == -1)
			err(1, "mailbox %s: %s", safe(path), safe(p));
		close(fd);
		fd = nfd;
		made |= created;
	}
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if ((nfd = open_or_make(fd, sub[i], uid, gid, chown_it,
		    &created)) == -1)
			err(1, "mailbox %s: %s", safe(path), sub[i]);
		close(nfd);
	}
	close(fd);
	return made;
}

static void
create_mailbox(const struct config *c, const char *canon, const char *mbox)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int chown_it = 0;

	if (geteuid() == 0) {
		if (priv_lookup(c->mail_owner, &uid, &gid) == -1) {
			warnx("mail_owner %s does not exist: mailbox %s not "
			    "created", safe(c->mail_owner), safe(mbox));
			return;
		}
		chown_it = 1;
	}
	printf("%s: mailbox %s (%s)\n", canon, mbox,
	    make_maildir(mbox, uid, gid, chown_it) ? "created" : "exists");
}

/* -- commands ------------------------------------------------------------- */

static int
cmd_hash(struct config *c, int argc, char **argv)
{
	char out[crypto_pwhash_STRBYTES];
	struct stat st;

	UNUSED(argv);
	if (argc != 0)
		usage();
	if (stat(conffile, &st) == -1 && errno == ENOENT)
		config_defaults(c);
	else
		load_config(c);
	new_hash(c, out);
	printf("%s\n", out);
	return 0;
}

static int
user_add(struct config *c, int argc, char **argv)
{
	char canon[USERNAME_MAX], hash[crypto_pwhash_STRBYTES];
	char line[USERDB_LINE_MAX], mbox[USERDB_MAILBOX_MAX];
	const char *why;

	if (argc != 1 && argc != 2)
		usage();
	canonical_arg(argv[0], canon, sizeof(canon));
	load_config(c);
	if (argc == 2) {
		if ((why = userdb_mailbox_problem(argv[1])) != NULL)
			errx(1, "%s: %s", safe(argv[1]), why);
		strlcpy(mbox, argv[1], sizeof(mbox));
	} else if (config_mailbox_path(c, canon, mbox, sizeof(mbox)) == -1)
		errx(1, "%s: mailbox path too long", canon);
	if (user_exists(c, canon))
		errx(1, "user %s exists", canon);
	new_hash(c, hash);
	if ((size_t)snprintf(line, sizeof(line), "%s:%s%s%s\n", canon, hash,
	    argc == 2 ? ":" : "", argc == 2 ? argv[1] : "") >= sizeof(line))
		errx(1, "users file line too long");
	if (rewrite(c, canon, line, must_be_new, append_line) != 0)
		errx(1, "user %s exists", canon);
	sodium_memzero(line, sizeof(line));
	printf("%s: added to %s\n", canon, c->users_file);
	create_mailbox(c, canon, mbox);
	return 0;
}

static int
user_del(struct config *c, int argc, char **argv)
{
	char canon[USERNAME_MAX];

	if (argc != 1)
		usage();
	canonical_arg(argv[0], canon, sizeof(canon));
	load_config(c);
	if (rewrite(c, canon, NULL, any_line, remove_lines) != 0)
		errx(1, "no such user: %s", canon);
	printf("%s: removed from %s (the mailbox is left in place)\n", canon,
	    c->users_file);
	return 0;
}

static int
user_passwd(struct config *c, int argc, char **argv)
{
	char canon[USERNAME_MAX], hash[crypto_pwhash_STRBYTES];

	if (argc != 1)
		usage();
	canonical_arg(argv[0], canon, sizeof(canon));
	load_config(c);
	if (!user_exists(c, canon))
		errx(1, "no such user: %s", canon);
	new_hash(c, hash);
	if (rewrite(c, canon, hash, must_exist, set_hash) != 0)
		errx(1, "no such user: %s", canon);
	printf("%s: password changed\n", canon);
	return 0;
}

static int
user_list(struct config *c, int argc, char **argv)
{
	struct userdb db;
	size_t i, problems;

	UNUSED(argv);
	if (argc != 0)
		usage();
	load_config(c);
	if (read_users(c, &db, &problems) == -1)
		err(1, "%s", c->users_file);
	for (i = 0; i < db.n; i++)
		printf("%s%s\n", db.byline[i].name, db.byline[i].disabled ?
		    " (disabled)" : db.byline[i].bad_hash ? " (bad hash)" : "");
	if (problems > 0)
		warnx("%s: %zu problem%s, see pop3ctl check", c->users_file,
		    problems, problems == 1 ? "" : "s");
	userdb_free(&db);
	return 0;
}

static const struct cmd user_cmds[] = {
	{ "add", user_add },
	{ "del", user_del },
	{ "passwd", user_passwd },
	{ "list", user_list },
};

static int
cmd_user(struct config *c, int argc, char **argv)
{
	size_t i;

	if (argc < 1)
		usage();
	for (i = 0; i < sizeof(user_cmds) / sizeof(user_cmds[0]); i++)
		if (strcmp(argv[0], user_cmds[i].name) == 0)
			return user_cmds[i].fn(c, argc - 1, argv + 1);
	usage();
}

/* -- check --------------------------------------------------------------- */

struct check_ctx {
	const char	*path;
	size_t		 problems;
};

static void
report_problem(void *arg, size_t line, const char *why)
{
	struct check_ctx *cc = arg;

	warnx("%s:%zu: %s", cc->path, line, why);
	cc->problems++;
}

/* What userdb.c leaves to authd: cost ceilings and mailbox paths. */
static void
check_entries(const struct config *c, const struct userdb *db,
    struct check_ctx *cc)
{
	struct hash_policy pol;
	struct hash_params hp;
	char mbox[USERDB_MAILBOX_MAX];
	const struct userdb_entry *e;
	size_t i;
	int v;

	hash_policy_from_config(&pol, c);
	for (i = 0; i < db->n; i++) {
		e = &db->byline[i];
		if (!e->disabled && !e->bad_hash &&
		    (v = hash_check(e->hash, &pol, &hp)) != HASH_OK)
			report_problem(cc, e->line, "hash parameters out of "
			    "policy (argon2_max_memory, argon2_max_time)");
		if (e->mailbox == NULL && config_mailbox_path(c, e->name, mbox,
		    sizeof(mbox)) == -1)
			report_problem(cc, e->line, "mailbox path too long");
	}
}

static int
check_users(const struct config *c)
{
	struct check_ctx cc = { c->users_file, 0 };
	struct userdb db;
	struct stat st;
	int fd;

	if ((fd = open(c->users_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1 || fstat(fd, &st) == -1) {
		warn("%s", c->users_file);
		return 1;
	}
	if (st.st_mode & S_IWOTH) {
		warnx("%s: writable by others", c->users_file);
		cc.problems++;
	} else if (st.st_mode & S_IROTH)
		warnx("warning: %s: readable by others (the hashes are "
		    "secrets; use mode 0640)", c->users_file);
	userdb_init(&db);
	if (userdb_load_fd(&db, fd, report_problem, &cc) == -1) {
		warn("%s", c->users_file);
		cc.problems++;
	}
	close(fd);
	check_entries(c, &db, &cc);
	userdb_free(&db);
	return cc.problems != 0;
}

static int
cmd_check(struct config *c, int argc, char **argv)
{
	UNUSED(argv);
	if (argc != 0)
		usage();
	if (config_load(c, conffile) == -1)
		return 1;
	if (check_users(c) != 0)
		return 1;
	printf("configuration OK\n");
	return 0;
}

/* -- the running daemon (pop3ctl_control.c) ------------------------------ */

static int
show(struct config *c, int argc, const char *request)
{
	if (argc != 0)
		usage();
	load_config(c);
	return ctl_request(c, request);
}

static int
cmd_bans(struct config *c, int argc, char **argv)
{
	UNUSED(argv);
	return show(c, argc, "show bans");
}

static int
cmd_sources(struct config *c, int argc, char **argv)
{
	UNUSED(argv);
	return show(c, argc, "show sources");
}

static int
cmd_status(struct config *c, int argc, char **argv)
{
	UNUSED(argv);
	return show(c, argc, "show status");
}

static int
cmd_unban(struct config *c, int argc, char **argv)
{
	if (argc != 1)
		usage();
	load_config(c);
	return ctl_unban(c, argv[0]);
}

/* -- the audit trail (pop3ctl_audit.c) ---------------------------------- */

static int
cmd_audit(struct config *c, int argc, char **argv)
{
	UNUSED(c);		/* the audit tools need no configuration */
	return ctl_audit(argc, argv);
}

static const struct cmd cmds[] = {
	{ "hash", cmd_hash },
	{ "user", cmd_user },
	{ "check", cmd_check },
	{ "bans", cmd_bans },
	{ "sources", cmd_sources },
	{ "status", cmd_status },
	{ "unban", cmd_unban },
	{ "audit", cmd_audit },
};

int
main(int argc, char *argv[])
{
	static struct config conf;
	size_t i;
	int ch;

	/* "+": options end at the command, whose own options follow it */
	while ((ch = getopt(argc, argv, "+f:")) != -1) {
		switch (ch) {
		case 'f':
			conffile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	log_init("pop3ctl", 1, 0);
	if (sodium_init() == -1)
		errx(1, "sodium_init");
	umask(077);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(&conf, argc - 1, argv + 1);
	usage();
}
