/*
 * pop3d-audit, the audit writer: the only writer of the audit file.  The
 * parent opens the file (append) and the directory of the chain state
 * before it starts us, as root; we take the chain state, finish what a
 * crash may have left, confine ourselves (chroot, audit_user, seccomp),
 * and then turn each event sent to us into one forward-secure, chained
 * JSON line (common/audit_chain.c, audit_store.c), saving the evolved key
 * after every batch so that the ones that sealed it are gone from the
 * disk too.  Who reported an event, and for a session or its storaged the
 * connection and the user, come from the channel it arrived on, never
 * from the event.  A seal record every audit_seal_interval bounds how
 * much of the tail could be cut unnoticed.
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

#include "audit_chain.h"
#include "audit_event.h"
#include "audit_store.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"
#include "util.h"

#define PARENT_FD	3
#define FILE_FD		4	/* the audit file, O_RDWR | O_APPEND */
#define STATE_DIR_FD	5	/* the directory of audit_state */

/* A child's channel: its role, pid and connection are what the parent
 * said when it handed us our end, never what the child says. */
struct wchan {
	int			used;
	struct ipc_chan		chan;
	int			role;
	pid_t			pid;
	struct audit_source	src;
};

static struct writer {
	struct config		conf;
	struct ipc_chan		parent;
	struct wchan		*in;		/* children's channels */
	size_t			nin;
	struct pollfd		*pfd;
	size_t			*who;
	struct store		st;
	char			state_name[NAME_MAX + 1];
	uint64_t		next_seal_ms;
} w;

static void
seal(struct writer *wr)
{
	store_seal(&wr->st);
	wr->next_seal_ms = monotonic_ms() + wr->conf.audit_seal_interval_ms;
}

/* The context of session `id' from its session channel, for events of
 * the parent and authd about it. */
static const struct audit_source *
session_source(uint32_t id)
{
	size_t i;

	for (i = 0; i < w.nin; i++)
		if (w.in[i].used && w.in[i].role == ROLE_SESSION &&
		    w.in[i].src.session == id)
			return &w.in[i].src;
	return NULL;
}

/* Returns -1 when the sender may not report this: the caller cuts it off. */
static int
event(struct writer *wr, int role, pid_t pid, const struct audit_source *src,
    struct ipc_msg *m)
{
	char fields[AUDIT_FIELDS_MAX + 1], summary[256];

	if (audit_event_fields(role, pid, src, session_source, m, fields,
	    sizeof(fields), summary, sizeof(summary)) == -1) {
		log_warnx("audit: refused an event from %s: %s",
		    ipc_role_name(role), summary);
		return -1;
	}
	(void)store_event(&wr->st, fields, summary);
	return 0;
}

/* A child sent what it may not: the attempt is itself a record, and the
 * parent ends the child. */
static void
violation(struct writer *wr, struct wchan *c, const char *what)
{
	char fields[256], summary[160], sid[16];
	struct ipc_msg m;

	snprintf(sid, sizeof(sid), "%u", c->src.session);
	snprintf(fields, sizeof(fields), "\"event\":\"security.audit_violation"
	    "\",\"role\":\"audit\",\"outcome\":\"failure\",\"process\":\"%s\","
	    "\"pid\":\"%d\",\"session\":\"%s\",\"detail\":\"%s\"",
	    ipc_role_name(c->role), (int)c->pid, sid, what);
	snprintf(summary, sizeof(summary), "security.audit_violation "
	    "outcome=failure process=%s pid=%d session=%s detail=%s",
	    ipc_role_name(c->role), (int)c->pid, sid, what);
	(void)store_event(&wr->st, fields, summary);
	ipc_chan_close(&c->chan);
	c->used = 0;
	ipc_msg_init(&m, IPC_AUDIT_CUTOFF, 0);
	ipc_put_u32(&m, (uint32_t)c->pid);
	if (ipc_send(&wr->parent, &m) == -1)
		log_warn("audit: telling the parent to cut off pid %d",
		    (int)c->pid);
}

static void
child_input(struct writer *wr, struct wchan *c)
{
	struct ipc_msg m;
	int r;

	while ((r = ipc_recv(&c->chan, &m)) == IPC_OK) {
		if (m.type == IPC_HELLO)
			continue;
		if (m.type != IPC_AUDIT_EVENT) {
			ipc_msg_close_fds(&m);
			violation(wr, c, "not an event message");
			return;
		}
		if (event(wr, c->role, c->pid, &c->src, &m) == -1) {
			violation(wr, c, "an event it may not report");
			return;
		}
	}
	if (r == IPC_BAD)
		violation(wr, c, "malformed message");
	else if (r == IPC_EOF) {
		ipc_chan_close(&c->chan);
		c->used = 0;
	}
}

static int
parse_channel(struct ipc_msg *m, uint32_t *role, uint32_t *pid,
    struct audit_source *src)
{
	memset(src, 0, sizeof(*src));
	if (ipc_get_u32(m, role) == -1 || ipc_get_u32(m, pid) == -1 ||
	    ipc_get_u32(m, &src->session) == -1 ||
	    ipc_get_str(m, src->src, sizeof(src->src)) == -1 ||
	    ipc_get_u32(m, &src->src_port) == -1 ||
	    ipc_get_str(m, src->dst, sizeof(src->dst)) == -1 ||
	    ipc_get_u32(m, &src->dst_port) == -1 ||
	    ipc_get_str(m, src->user, sizeof(src->user)) == -1 ||
	    ipc_get_end(m) == -1 || *role == ROLE_PARENT ||
	    *role == ROLE_AUDIT || *role >= ROLE_MAX || *pid == 0)
		return -1;
	return 0;
}

/* The parent hands us our end of a new child's channel. */
static void
add_channel(struct writer *wr, struct ipc_msg *m)
{
	struct audit_source src;
	uint32_t role, pid;
	size_t i;

	if (parse_channel(m, &role, &pid, &src) == -1) {
		ipc_msg_close_fds(m);
		fatalx("malformed AUDIT_CHANNEL from parent");
	}
	for (i = 0; i < wr->nin && wr->in[i].used; i++)
		;
	if (i == wr->nin || fd_set_nonblock(m->fds[0]) == -1) {
		log_warnx("AUDIT FAILURE: no room for the channel of %s %u",
		    ipc_role_name((int)role), pid);
		ipc_msg_close_fds(m);
		return;
	}
	wr->in[i].used = 1;
	wr->in[i].role = (int)role;
	wr->in[i].pid = (pid_t)pid;
	wr->in[i].src = src;
	ipc_chan_init(&wr->in[i].chan, m->fds[0], ROLE_AUDIT, (int)role,
	    ipc_role_name((int)role));
	/* the session learns who logged in when its storaged is started */
	if (role == ROLE_STORAGED && src.session != 0)
		for (i = 0; i < wr->nin; i++)
			if (wr->in[i].used && wr->in[i].role == ROLE_SESSION &&
			    wr->in[i].src.session == src.session)
				strlcpy(wr->in[i].src.user, src.user,
				    sizeof(wr->in[i].src.user));
}

static void
rotate(struct writer *wr, struct ipc_msg *m)
{
	char old[PATH_MAX], why[16];

	if (ipc_get_str(m, old, sizeof(old)) == -1 ||
	    ipc_get_str(m, why, sizeof(why)) == -1 || ipc_get_end(m) == -1) {
		ipc_msg_close_fds(m);
		fatalx("malformed AUDIT_ROTATE from parent");
	}
	store_rotate(&wr->st, m->fds[0], old, why);
	wr->next_seal_ms = monotonic_ms() + wr->conf.audit_seal_interval_ms;
}

static void
parent_input(struct writer *wr)
{
	struct ipc_msg m;
	int r;

	while ((r = ipc_recv(&wr->parent, &m)) == IPC_OK) {
		if (m.type == IPC_AUDIT_EVENT)
			(void)event(wr, ROLE_PARENT, 0, NULL, &m);
		else if (m.type == IPC_AUDIT_CHANNEL)
			add_channel(wr, &m);
		else if (m.type == IPC_AUDIT_ROTATE)
			rotate(wr, &m);
		else if (m.type != IPC_HELLO)
			fatalx("unexpected %s from parent",
			    ipc_type_name(m.type));
	}
	if (r == IPC_EOF) {
		seal(wr);	/* a clean stop ends on a seal */
		exit(0);
	}
	if (r == IPC_BAD)
		fatalx("protocol violation on the parent channel");
}

static int
poll_timeout(struct writer *wr, uint64_t now)
{
	uint64_t until = wr->next_seal_ms;

	if (wr->st.len > 0 && wr->st.retry_at < until)
		until = wr->st.retry_at;
	if (until <= now)
		return 0;
	return until - now > 60000 ? 60000 : (int)(until - now);
}

static void
loop(struct writer *wr)
{
	static const int order[] = { ROLE_AUTHD, ROLE_STORAGED, ROLE_SESSION };
	size_t n, i, r;
	uint64_t now;

	for (;;) {
		now = monotonic_ms();
		if (now >= wr->next_seal_ms)
			seal(wr);
		else if (wr->st.len > 0 && now >= wr->st.retry_at)
			(void)store_flush(&wr->st);
		wr->pfd[0] = (struct pollfd){ wr->parent.fd, POLLIN, 0 };
		for (n = 1, i = 0; i < wr->nin; i++)
			if (wr->in[i].used) {
				wr->who[n] = i;
				wr->pfd[n++] = (struct pollfd){
				    wr->in[i].chan.fd, POLLIN, 0 };
			}
		if (poll(wr->pfd, n, poll_timeout(wr, now)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		/* the parent first: a connection it accepted comes before
		 * what the processes serving it then report; then by role,
		 * so that within a round authd's login precedes the mailbox
		 * storaged opens, and storaged's hand-out the session's
		 * report of what it sent */
		if (wr->pfd[0].revents)
			parent_input(wr);
		for (r = 0; r < sizeof(order) / sizeof(order[0]); r++)
			for (i = 1; i < n; i++)
				if (wr->pfd[i].revents &&
				    wr->in[wr->who[i]].used &&
				    wr->in[wr->who[i]].role == order[r])
					child_input(wr, &wr->in[wr->who[i]]);
		/* one batch for everything this round brought */
		if (wr->st.len > 0 && (!wr->st.failing ||
		    monotonic_ms() >= wr->st.retry_at))
			(void)store_flush(&wr->st);
	}
}

static void
confine(struct writer *wr)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (priv_is_root() &&
	    priv_lookup(wr->conf.audit_user, &uid, &gid) == -1)
		fatalx("audit_user %s: no such user", wr->conf.audit_user);
	priv_drop(wr->conf.empty_dir, uid, gid, PRIV_DIR_ROOT_OWNED);
	/* no RLIMIT_FSIZE 0: the audit file and the state are written */
	priv_limits(0, (rlim_t)wr->nin + 16);
}

static void
startup(struct writer *wr, const char *conffile)
{
	char path[PATH_MAX];

	if (fcntl(PARENT_FD, F_GETFD) == -1 || fcntl(FILE_FD, F_GETFD) == -1 ||
	    fcntl(STATE_DIR_FD, F_GETFD) == -1)
		fatalx("descriptors 3-5 are not open: run me from pop3d");
	fd_close_from(STATE_DIR_FD + 1);
	if (fd_set_cloexec(PARENT_FD) == -1 ||
	    fd_set_nonblock(PARENT_FD) == -1)
		fatal("parent channel");
	ipc_chan_init(&wr->parent, PARENT_FD, ROLE_AUDIT, ROLE_PARENT,
	    "parent");
	signal(SIGPIPE, SIG_IGN);
	/* at shutdown we outlive the parent's SIGTERM, seal the trail when
	 * its channel closes, and exit */
	signal(SIGTERM, SIG_IGN);
	if (sodium_init() == -1)
		fatalx("sodium_init");
	if (config_load(&wr->conf, conffile) == -1)
		fatalx("%s: configuration not usable", conffile);
	strlcpy(path, wr->conf.audit_state, sizeof(path));
	if (strlcpy(wr->state_name, basename(path), sizeof(wr->state_name)) >=
	    sizeof(wr->state_name))
		fatalx("audit_state %s: bad name", wr->conf.audit_state);
	if (audit_chain_state_load(&wr->st.ch, STATE_DIR_FD, wr->state_name) ==
	    -1)
		fatal("audit_state %s (make one with pop3ctl audit init)",
		    wr->conf.audit_state);
	audit_recover(&wr->st.ch, FILE_FD, STATE_DIR_FD, wr->state_name);
	store_init(&wr->st, FILE_FD, STATE_DIR_FD, wr->state_name,
	    &wr->parent, wr->conf.audit_rotate_size);
	wr->st.written = wr->st.ch.seq;
	/* a session and its storaged each have a channel, authd one */
	wr->nin = 2 * (size_t)wr->conf.max_sessions + 4;
	if ((wr->in = calloc(wr->nin, sizeof(*wr->in))) == NULL ||
	    (wr->pfd = calloc(wr->nin + 1, sizeof(*wr->pfd))) == NULL ||
	    (wr->who = calloc(wr->nin + 1, sizeof(*wr->who))) == NULL)
		fatal("channel table");
	confine(wr);
	log_to_channel(&wr->parent);
	sandbox_enter(ROLE_AUDIT, STATE_DIR_FD);
	if (ipc_send_hello(&wr->parent) == -1)
		fatal("HELLO to parent");
	wr->next_seal_ms = monotonic_ms() + wr->conf.audit_seal_interval_ms;
}

int
main(int argc, char *argv[])
{
	const char *conffile = SYSCONFDIR "/pop3d.conf";
	int verbose = 0;

	role_getopt(argc, argv, "pop3d-audit", &conffile, &verbose);
	log_init("pop3d-audit", 1, verbose);
	startup(&w, conffile);
	log_info("audit trail at record %llu",
	    (unsigned long long)w.st.ch.seq);
	loop(&w);
	return 0;
}
