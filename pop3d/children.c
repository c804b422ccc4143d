/*
 * The process table and fork+exec of the child roles.  Each child is a
 * fresh exec (new address-space layout, no inherited heap) with its
 * channels on fixed descriptors starting at 3 and every other descriptor
 * closed, as in OpenSSH and OpenSMTPD.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parent.h"
#include "util.h"

/* descriptors a child starts with from 3 on: its channel, then extras */
#define SPAWN_MAX_FDS	4

static const char *role_binary[ROLE_MAX] = {
	[ROLE_SESSION] = "pop3d-session",
	[ROLE_AUTHD] = "pop3d-authd",
	[ROLE_STORAGED] = "pop3d-storaged",
	[ROLE_AUDIT] = "pop3d-audit",
};

static struct child *
child_slot(struct parent *p)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++)
		if (p->children[i].state == CH_FREE)
			return &p->children[i];
	return NULL;
}

/* In the forked child: descriptors into place, then exec the role. */
static void __attribute__((noreturn))
exec_role(struct parent *p, int role, const int *fds, int nfds)
{
	char path[PATH_MAX];
	char *argv[6];
	int i, ac = 0, tmp[SPAWN_MAX_FDS], devnull;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* park the channels above 3 + nfds so dup2 cannot clobber one */
	for (i = 0; i < nfds; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 16)) == -1)
			_exit(127);
	for (i = 0; i < nfds; i++)
		if (dup2(tmp[i], 3 + i) == -1)
			_exit(127);
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
	}
	fd_close_from(3 + nfds);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", p->conf.libexec_dir,
	    role_binary[role]) >= sizeof(path))
		_exit(127);
	argv[ac++] = (char *)role_binary[role];
	if (role != ROLE_STORAGED) {
		argv[ac++] = "-f";
		argv[ac++] = p->conffile;
	}
	if (p->verbose)
		argv[ac++] = "-v";
	argv[ac] = NULL;
	execv(path, argv);
	fprintf(stderr, "pop3d: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/*
 * Spawns a child of `role'.  Its channel to us lands on descriptor 3 and
 * the `nfds' extra descriptors on 4, 5, ...
 */
struct child *
child_spawn(struct parent *p, int role, const int *fds, int nfds)
{
	struct child *c;
	pid_t pid;
	int sv[2], all[SPAWN_MAX_FDS], i;

	if (nfds + 1 > SPAWN_MAX_FDS)
		fatalx("child_spawn: %d descriptors", nfds);
	if ((c = child_slot(p)) == NULL) {
		log_warnx("process table full, not spawning %s",
		    ipc_role_name(role));
		return NULL;
	}
	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return NULL;
	}
	all[0] = sv[1];
	for (i = 0; i < nfds; i++)
		all[i + 1] = fds[i];
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0)
		exec_role(p, role, all, nfds + 1);
	close(sv[1]);
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->role = role;
	c->state = CH_STARTING;
	c->started_ms = monotonic_ms();
	snprintf(c->label, sizeof(c->label), "%s[%d]", ipc_role_name(role),
	    (int)pid);
	ipc_chan_init(&c->chan, sv[0], ROLE_PARENT, role, c->label);
	if (ipc_send_hello(&c->chan) == -1)
		log_warn("%s: hello", c->label);
	return c;
}

struct child *
child_by_pid(struct parent *p, pid_t pid)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++)
		if (p->children[i].state != CH_FREE &&
		    p->children[i].pid == pid)
			return &p->children[i];
	return NULL;
}

struct child *
child_ready_session(struct parent *p)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++)
		if (p->children[i].role == ROLE_SESSION &&
		    p->children[i].state == CH_READY &&
		    p->children[i].chan.fd != -1)
			return &p->children[i];
	return NULL;
}

/* Counts children of `role'; state -1 counts every live one. */
size_t
child_count(struct parent *p, int role, int state)
{
	size_t i, n = 0;

	for (i = 0; i < p->nchildren; i++) {
		struct child *c = &p->children[i];

		if (c->state != CH_FREE && c->role == role &&
		    (state == -1 || c->state == state))
			n++;
	}
	return n;
}

void
child_release(struct child *c)
{
	if (c->state != CH_FREE)
		ipc_chan_close(&c->chan);
	memset(c, 0, sizeof(*c));
	c->chan.fd = -1;
	c->state = CH_FREE;
}

/* Never signals pid 0 or -1 (the process group, or every process). */
void
child_kill(struct child *c, int sig)
{
	if (c->state != CH_FREE && c->pid > 0)
		kill(c->pid, sig);
}

void
child_signal_all(struct parent *p, int sig)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++)
		child_kill(&p->children[i], sig);
}

/* Sends to a child; a child that cannot take a message is killed. */
int
child_send(struct child *c, struct ipc_msg *m)
{
	if (ipc_send(&c->chan, m) == 0)
		return 0;
	log_warn("%s: sending %s", c->label, ipc_type_name(m->type));
	ipc_chan_close(&c->chan);
	child_kill(c, SIGKILL);
	return -1;
}
