/*
 * pop3d: start-up of the parent.  Reads and checks the configuration,
 * resolves the role users, binds the listeners, then hands over to the
 * event loop in parent.c.  Everything that can be wrong with the
 * configuration or the host is found here, before any child runs, and is
 * fatal with a message that names the thing and the cause.
 */
#include <sys/types.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <netdb.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "log.h"
#include "parent.h"
#include "privdrop.h"
#include "sandbox.h"
#include "util.h"

static struct parent parent;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pop3d [-dnv] [-f file]\n");
	exit(1);
}

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = sig;

	/* if the pipe is full a wake-up is already pending */
	ssize_t r = write(parent.sig_pipe[1], &c, 1);

	(void)r;
	errno = saved;
}

static void
setup_signals(struct parent *p)
{
	struct sigaction sa;
	int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1 }, i;

	if (pipe2(p->sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < (int)(sizeof(sigs) / sizeof(sigs[0])); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			fatal("sigaction");
	signal(SIGPIPE, SIG_IGN);
}

static int
bind_one(struct parent *p, struct addrinfo *ai, int li)
{
	const struct listen_conf *l = &p->conf.listen[li];
	int fd, on = 1;

	if (p->nlisten == MAX_LISTENERS)
		fatalx("too many listening sockets");
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		fatal("socket for %s port %s", l->addr, l->port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		fatal("bind %s port %s", l->addr, l->port);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen %s port %s", l->addr, l->port);
	p->listen_fd[p->nlisten] = fd;
	p->listen_flags[p->nlisten] = l->flags;
	p->listen_conf[p->nlisten] = li;
	p->nlisten++;
	return 0;
}

static void
bind_listeners(struct parent *p)
{
	struct addrinfo hints, *res, *ai;
	int i, e;

	for (i = 0; i < p->conf.nlisten; i++) {
		const struct listen_conf *l = &p->conf.listen[i];

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
		e = getaddrinfo(strcmp(l->addr, "*") == 0 ? NULL : l->addr,
		    l->port, &hints, &res);
		if (e != 0)
			fatalx("%s: listen %s %s: %s", p->conffile, l->addr,
			    l->port, gai_strerror(e));
		for (ai = res; ai != NULL; ai = ai->ai_next)
			bind_one(p, ai, i);
		freeaddrinfo(res);
	}
}

static void
check_binaries(struct parent *p)
{
	const char *names[] = { "pop3d-session", "pop3d-authd",
	    "pop3d-storaged", "pop3d-audit" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s",
		    p->conf.libexec_dir, names[i]) >= sizeof(path))
			fatalx("libexec_dir: path too long");
		if (access(path, X_OK) == -1)
			fatal("libexec_dir: %s", path);
	}
}

/* Role users must exist and the mail owner must not be root. */
static void
check_users(struct parent *p)
{
	uid_t uid;
	gid_t gid;

	if (!priv_is_root()) {
		log_warnx("WARNING: not running as root: development mode, "
		    "children keep uid %u and are not chrooted",
		    (unsigned)getuid());
		p->mail_uid = getuid();
		p->mail_gid = getgid();
		return;
	}
	if (priv_lookup(p->conf.session_user, &uid, &gid) == -1)
		fatalx("session_user %s: no such user", p->conf.session_user);
	if (priv_lookup(p->conf.auth_user, &uid, &gid) == -1)
		fatalx("auth_user %s: no such user", p->conf.auth_user);
	if (p->conf.audit_file[0] != '\0' &&
	    priv_lookup(p->conf.audit_user, &uid, &gid) == -1)
		fatalx("audit_user %s: no such user", p->conf.audit_user);
	if (priv_lookup(p->conf.mail_owner, &p->mail_uid, &p->mail_gid) == -1)
		fatalx("mail_owner %s: no such user", p->conf.mail_owner);
	if (p->mail_uid == 0 || p->mail_gid == 0)
		fatalx("mail_owner %s: must not be root or group 0",
		    p->conf.mail_owner);
	priv_check_dir(p->conf.empty_dir, 0, PRIV_DIR_ROOT_OWNED);
}

/* The parent is about to hold the TLS key and the ticket keys: no core
 * file may carry them out, not even after its own filter kills it. */
static void
no_core_dumps(void)
{
	struct rlimit zero = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		fatal("setrlimit RLIMIT_CORE");
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
#endif
}

/*
 * Each child costs the parent one channel descriptor; make sure the
 * configured limits fit under RLIMIT_NOFILE instead of failing under load.
 */
static void
check_fd_limit(struct parent *p)
{
	struct rlimit rl;
	rlim_t need = p->nchildren + MAX_LISTENERS + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit RLIMIT_NOFILE");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
			fatalx("max_sessions %u needs %llu descriptors, but "
			    "RLIMIT_NOFILE allows %llu", p->conf.max_sessions,
			    (unsigned long long)need,
			    (unsigned long long)rl.rlim_max);
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("setrlimit RLIMIT_NOFILE");
	}
}

int
main(int argc, char *argv[])
{
	const char *conffile = SYSCONFDIR "/pop3d.conf";
	int ch, foreground = 0, checkonly = 0;
	char nl[16];
	struct parent *p = &parent;
	size_t i;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'v':
			p->verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("pop3d", 1, p->verbose);
	if (tls_init() == -1)
		errx(1, "tls_init");
	if (realpath(conffile, p->conffile) == NULL)
		err(1, "%s", conffile);
	if (config_load(&p->conf, p->conffile) == -1)
		exit(1);
	if (checkonly) {
		if (parent_tls_load(p) == -1)
			exit(1);
		printf("configuration OK\n");
		return 0;
	}
	check_binaries(p);
	check_users(p);
	no_core_dumps();
	if (parent_tls_load(p) == -1)
		fatalx("TLS not usable; see above");
	bind_listeners(p);
	/* pop3ctl's socket: bind and listen are not allowed in the sandbox */
	control_start(&p->control, p->conf.control_socket);
	p->nchildren = 2 * (size_t)p->conf.max_sessions + p->conf.pool_size +
	    8;
	if ((p->children = calloc(p->nchildren, sizeof(*p->children))) == NULL)
		fatal("calloc");
	for (i = 0; i < p->nchildren; i++)
		child_release(&p->children[i]);
	check_fd_limit(p);
	if (sources_init(&p->sources, p->conf.max_sessions) == -1)
		fatal("source table");
	parent_bans_load(p);
	if (!foreground) {
		log_init("pop3d", 0, p->verbose);
		if (daemon(0, 0) == -1)
			fatal("daemon");
	}
	setup_signals(p);
	/* listeners bound, TLS loaded: from here on, the parent's filter
	 * (which its children inherit until they enter their own) */
	sandbox_enter(ROLE_PARENT, -1);
	log_info("pop3d started, %d listening sockets", p->nlisten);
	parent_audit_start(p);
	snprintf(nl, sizeof(nl), "%d", p->nlisten);
	parent_audit(p, "service.start", "listeners", nl, (char *)NULL);
	parent_loop(p);
	return 0;
}
