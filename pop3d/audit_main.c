/*
 * pop3d-audit, the audit writer: the only writer of the audit file.  The
 * parent opens the file (append) and the directory of the chain state
 * before it starts us, as root; we take the chain state, finish what a
 * crash may have left, confine ourselves (chroot, audit_user, seccomp),
 * and then turn each event sent to us into one forward-secure, chained
 * JSON line (common/audit_chain.c), saving the evolved key after every
 * line so that the one that sealed it is gone from the disk too.  Who
 * reported an event comes from the channel it arrived on, never from the
 * event.  A seal record every audit_seal_interval bounds how much of the
 * tail could be cut unnoticed.
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
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"
#include "util.h"

#define PARENT_FD	3
#define FILE_FD		4	/* the audit file, O_RDWR | O_APPEND */
#define STATE_DIR_FD	5	/* the directory of audit_state */
#define CHANNELS_MAX	64	/* children with their own channel to us */
#define SEAL_RECORDS	1000	/* a seal at least this often, and each
				   audit_seal_interval */
#define NOFILE_AUDIT	(CHANNELS_MAX + 16)

/* A child's channel: its role and pid are what the parent said when it
 * handed us our end, never what the child says. */
struct wchan {
	int		 used;
	struct ipc_chan	 chan;
	int		 role;
	pid_t		 pid;
};

static struct writer {
	struct config		conf;
	struct ipc_chan		parent;
	struct wchan		ch_in[CHANNELS_MAX];
	struct audit_chain	ch;
	char			state_name[NAME_MAX + 1];
	uint64_t		next_seal_ms;
	int			failing;	/* told the log already */
} w;

/* Writes the line and saves the evolved state; a failure is logged once
 * per run of failures, never silently dropped. */
static void
commit(struct writer *wr, const char *line, size_t len)
{
	if (fd_write_all(FILE_FD, line, len) == -1 ||
	    audit_chain_state_save(&wr->ch, STATE_DIR_FD, wr->state_name,
	    0) == -1) {
		if (!wr->failing)
			log_warn("AUDIT FAILURE: record %llu not stored; the "
			    "trail has a gap from here",
			    (unsigned long long)wr->ch.seq);
		wr->failing = 1;
		return;
	}
	if (wr->failing)
		log_warnx("audit file writable again at record %llu",
		    (unsigned long long)wr->ch.seq);
	wr->failing = 0;
}

static void
seal(struct writer *wr)
{
	char line[AUDIT_LINE_MAX + 1];
	ssize_t n;

	if ((n = audit_chain_seal(&wr->ch, NULL, line, sizeof(line))) == -1)
		log_warn("audit seal");
	else
		commit(wr, line, (size_t)n);
	wr->next_seal_ms = monotonic_ms() + wr->conf.audit_seal_interval_ms;
}

static void
record(struct writer *wr, const char *fields, const char *summary)
{
	char line[AUDIT_LINE_MAX + 1];
	ssize_t n;

	if ((n = audit_chain_append(&wr->ch, fields, line, sizeof(line))) ==
	    -1) {
		log_warn("audit: cannot make a record of %s", summary);
		return;
	}
	commit(wr, line, (size_t)n);
	if (wr->ch.unsealed >= SEAL_RECORDS)
		seal(wr);
	/* the short form, for syslog and the tools that watch it */
	log_info("audit %llu: %s", (unsigned long long)wr->ch.seq, summary);
}

/* Returns -1 when the sender may not report this: the caller cuts it off. */
static int
event(struct writer *wr, int role, pid_t pid, struct ipc_msg *m)
{
	char fields[AUDIT_FIELDS_MAX + 1], summary[256];

	if (audit_event_fields(role, pid, m, fields, sizeof(fields), summary,
	    sizeof(summary)) == -1) {
		log_warnx("audit: refused an event from %s: %s",
		    ipc_role_name(role), summary);
		return -1;
	}
	record(wr, fields, summary);
	return 0;
}

/* A child sent what it may not: the attempt is itself a record. */
static void
violation(struct writer *wr, struct wchan *c, const char *what)
{
	char fields[256], summary[128];

	snprintf(fields, sizeof(fields), "\"event\":\"security.audit_violation"
	    "\",\"role\":\"audit\",\"process\":\"%s\",\"pid\":\"%d\","
	    "\"detail\":\"%s\"", ipc_role_name(c->role), (int)c->pid, what);
	snprintf(summary, sizeof(summary), "security.audit_violation "
	    "process=%s pid=%d detail=%s", ipc_role_name(c->role),
	    (int)c->pid, what);
	record(wr, fields, summary);
	ipc_chan_close(&c->chan);
	c->used = 0;
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
		if (event(wr, c->role, c->pid, &m) == -1) {
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

/* The parent hands us our end of a new child's channel. */
static void
add_channel(struct writer *wr, struct ipc_msg *m)
{
	uint32_t role, pid;
	size_t i;

	if (ipc_get_u32(m, &role) == -1 || ipc_get_u32(m, &pid) == -1 ||
	    ipc_get_end(m) == -1 || role == ROLE_PARENT ||
	    role == ROLE_AUDIT || role >= ROLE_MAX) {
		ipc_msg_close_fds(m);
		fatalx("malformed AUDIT_CHANNEL from parent");
	}
	for (i = 0; i < CHANNELS_MAX && wr->ch_in[i].used; i++)
		;
	if (i == CHANNELS_MAX || fd_set_nonblock(m->fds[0]) == -1) {
		log_warnx("audit: no room for the channel of %s %u",
		    ipc_role_name((int)role), pid);
		ipc_msg_close_fds(m);
		return;
	}
	wr->ch_in[i].used = 1;
	wr->ch_in[i].role = (int)role;
	wr->ch_in[i].pid = (pid_t)pid;
	ipc_chan_init(&wr->ch_in[i].chan, m->fds[0], ROLE_AUDIT, (int)role,
	    ipc_role_name((int)role));
}

static void
parent_input(struct writer *wr)
{
	struct ipc_msg m;
	int r;

	while ((r = ipc_recv(&wr->parent, &m)) == IPC_OK) {
		if (m.type == IPC_AUDIT_EVENT)
			(void)event(wr, ROLE_PARENT, 0, &m);
		else if (m.type == IPC_AUDIT_CHANNEL)
			add_channel(wr, &m);
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

static void
loop(struct writer *wr)
{
	struct pollfd pfd[1 + CHANNELS_MAX];
	size_t who[1 + CHANNELS_MAX], n, i;
	uint64_t now;

	for (;;) {
		now = monotonic_ms();
		if (now >= wr->next_seal_ms)
			seal(wr);
		pfd[0] = (struct pollfd){ wr->parent.fd, POLLIN, 0 };
		for (n = 1, i = 0; i < CHANNELS_MAX; i++)
			if (wr->ch_in[i].used) {
				who[n] = i;
				pfd[n++] = (struct pollfd){
				    wr->ch_in[i].chan.fd, POLLIN, 0 };
			}
		if (poll(pfd, n, (int)(wr->next_seal_ms - now > 60000 ?
		    60000 : wr->next_seal_ms - now)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		/* the parent first: a connection it accepted comes before
		 * what the processes serving it then report */
		if (pfd[0].revents)
			parent_input(wr);
		for (i = 1; i < n; i++)
			if (pfd[i].revents && wr->ch_in[who[i]].used)
				child_input(wr, &wr->ch_in[who[i]]);
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
	priv_limits(0, NOFILE_AUDIT);
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
	if (audit_chain_state_load(&wr->ch, STATE_DIR_FD, wr->state_name) ==
	    -1)
		fatal("audit_state %s (make one with pop3ctl audit init)",
		    wr->conf.audit_state);
	audit_recover(&wr->ch, FILE_FD, STATE_DIR_FD, wr->state_name);
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
	log_info("audit trail at record %llu", (unsigned long long)w.ch.seq);
	loop(&w);
	return 0;
}
