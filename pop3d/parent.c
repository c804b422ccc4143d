/*
 * The parent's event loop: keep a pool of confined session processes
 * ready, hand each accepted connection to one of them together with a
 * fresh channel to authd, start storaged when authd vouches for a user, and
 * reap and restart children.  Everything a child says is checked against
 * its role and state; a child that misbehaves is killed, not trusted.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parent.h"
#include "username.h"
#include "util.h"

#define AUTHD_RESTART_DELAY_MS	500	/* after a quick crash */
#define AUTHD_QUICK_DEATH_MS	1000
#define POOL_BACKOFF_MS		1000	/* a session died before HELLO */

static volatile sig_atomic_t quit;

static void
addr_string(const struct sockaddr_storage *ss, socklen_t len, char *host,
    size_t hostsz, uint32_t *port)
{
	char serv[8];
	uint32_t v = 0;

	if (getnameinfo((const struct sockaddr *)ss, len, host, hostsz, serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strlcpy(host, "unknown", hostsz);
		strlcpy(serv, "0", sizeof(serv));
	}
	if (parse_u32(serv, 65535, &v) == -1)
		v = 0;
	*port = v;
}

static void
spawn_authd(struct parent *p)
{
	if ((p->authd = child_spawn(p, ROLE_AUTHD, NULL, 0)) != NULL) {
		log_info("authd pid %d started", (int)p->authd->pid);
		parent_audit_rewire_authd(p);
	} else
		p->authd_restart_at = monotonic_ms() + AUTHD_RESTART_DELAY_MS;
}

/* A session gets its TLS material through a pipe on descriptor 4. */
static struct child *
spawn_session(struct parent *p)
{
	struct child *c;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("pipe");
		return NULL;
	}
	c = child_spawn(p, ROLE_SESSION, &pfd[0], 1);
	close(pfd[0]);
	if (c == NULL) {
		close(pfd[1]);
		return NULL;
	}
	c->generation = p->tls_generation;
	if (parent_tls_send(p, pfd[1]) == -1)
		child_kill(c, SIGKILL);
	return c;
}

/*
 * Idle sessions hold the TLS material of their spawn; after a reload or a
 * ticket-key rotation they are replaced so new clients get the new one.
 */
static void
recycle_idle_sessions(struct parent *p)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++) {
		struct child *c = &p->children[i];

		if (c->role == ROLE_SESSION && (c->state == CH_READY ||
		    c->state == CH_STARTING) &&
		    c->generation != p->tls_generation) {
			ipc_chan_close(&c->chan);	/* it exits on EOF */
			c->state = CH_RETIRING;
		}
	}
}

static void
rotate_ticket_keys(struct parent *p)
{
	uint64_t life = p->conf.tls_ticket_lifetime_ms;

	if (!p->tls_ready || life == 0 ||
	    monotonic_ms() - p->ticket_rotated_ms < life)
		return;
	parent_tls_rotate(p);
	log_info("TLS ticket key rotated");
	recycle_idle_sessions(p);
}

static void
reload(struct parent *p)
{
	parent_audit(p, "service.reload", "outcome",
	    parent_reload_policy(p) == 0 ? "success" : "failure",
	    (char *)NULL);
	if (!p->tls_ready) {
		log_info("SIGHUP: nothing to reload (no TLS listeners)");
		return;
	}
	if (parent_tls_load(p) == -1) {
		log_warnx("SIGHUP: TLS certificate or key not reloaded; "
		    "keeping the ones in use");
		return;
	}
	log_info("SIGHUP: TLS certificate and key reloaded");
	recycle_idle_sessions(p);
}

/* Keeps pool_size idle sessions, within the max_sessions budget. */
static void
refill_pool(struct parent *p)
{
	size_t idle = child_count(p, ROLE_SESSION, CH_STARTING) +
	    child_count(p, ROLE_SESSION, CH_READY);
	size_t all = child_count(p, ROLE_SESSION, -1);
	size_t want = p->conf.pool_size > 0 ? p->conf.pool_size : 1;

	if (monotonic_ms() < p->pool_backoff_until)
		return;
	while (idle < want && all < p->conf.max_sessions + want) {
		if (spawn_session(p) == NULL)
			break;
		idle++;
		all++;
	}
}

static void
refuse(int fd, const char *line)
{
	/* best effort, never blocks: the socket is non-blocking */
	ssize_t r = write(fd, line, strlen(line));

	(void)r;
	close(fd);
}

/* Gives an accepted connection to an idle session, with an authd channel;
 * 0 when the session has it. */
static int
hand_over(struct parent *p, struct child *s, int fd, uint32_t flags,
    const char *peer, uint32_t pport, const char *local, uint32_t lport)
{
	struct ipc_msg m;
	int sv[2];

	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		refuse(fd, "-ERR [SYS/TEMP] Server busy\r\n");
		return -1;
	}
	if (++p->next_session == 0)
		p->next_session = 1;
	s->session = p->next_session;
	strlcpy(s->peer, peer, sizeof(s->peer));
	strlcpy(s->local, local, sizeof(s->local));
	s->peer_port = pport;
	s->local_port = lport;
	/* its audit channel first: the session reports from its first byte */
	parent_audit_link(p, s, s, NULL);
	if (p->authd != NULL && p->authd->chan.fd != -1) {
		ipc_msg_init(&m, IPC_AUTHD_SESSION, s->session);
		ipc_put_str(&m, peer);
		m.fds[0] = sv[1];
		m.nfds = 1;
		child_send(p->authd, &m);
	}
	ipc_msg_init(&m, IPC_SESSION_CLIENT, s->session);
	ipc_put_str(&m, peer);
	ipc_put_u32(&m, pport);
	ipc_put_str(&m, local);
	ipc_put_u32(&m, lport);
	ipc_put_u32(&m, flags);
	m.fds[0] = fd;
	m.fds[1] = sv[0];
	m.nfds = 2;
	if (child_send(s, &m) == 0) {
		s->state = CH_BUSY;
		snprintf(s->label, sizeof(s->label), "session %u",
		    s->session);
		strlcpy(s->chan.name, s->label, sizeof(s->chan.name));
		log_info("session %u: pid %d serves %s port %u", s->session,
		    (int)s->pid, peer, pport);
	}
	close(sv[0]);
	close(sv[1]);
	close(fd);
	return s->state == CH_BUSY ? 0 : -1;
}

static size_t
active_sessions(struct parent *p)
{
	return child_count(p, ROLE_SESSION, CH_BUSY) +
	    child_count(p, ROLE_SESSION, CH_GRANTED);
}

/*
 * Connections are accepted only while an idle session can take them (or to
 * refuse them at the global limit); otherwise they wait in the kernel's
 * backlog until the pool catches up.
 */
static int
can_accept(struct parent *p)
{
	return child_ready_session(p) != NULL ||
	    active_sessions(p) >= p->conf.max_sessions;
}

/* On a proxy listener, `via' is the proxy: the socket's real peer. */
static void
audit_accept(struct parent *p, struct child *s, const char *phost,
    uint32_t pport, const char *lhost, uint32_t lport,
    const struct sockaddr_storage *via, socklen_t vlen)
{
	char sid[16], sp[8], lp[8], vhost[64];
	uint32_t vport;

	snprintf(sid, sizeof(sid), "%u", s->session);
	snprintf(sp, sizeof(sp), "%u", pport);
	snprintf(lp, sizeof(lp), "%u", lport);
	if (via != NULL)
		addr_string(via, vlen, vhost, sizeof(vhost), &vport);
	parent_audit(p, "conn.accept", "session", sid, "src", phost,
	    "src_port", sp, "dst", lhost, "dst_port", lp,
	    via != NULL ? "peer" : NULL, vhost, (char *)NULL);
}

/*
 * A connection on listener li from `peer' to `local' (for a PROXY
 * listener, the addresses its header asserted, and `via' the proxy; NULL
 * otherwise): the access policy, then an idle session.
 */
void
parent_connection(struct parent *p, int li, int fd,
    const struct sockaddr_storage *peer, socklen_t plen,
    const struct sockaddr_storage *local, socklen_t llen,
    const struct sockaddr_storage *via, socklen_t vlen)
{
	char phost[64], lhost[64];
	uint32_t pport, lport;
	struct ip_addr src;
	struct child *s;
	int on = 1;

	if (parent_admit(p, p->listen_conf[li], fd,
	    (const struct sockaddr *)peer, plen, &src) == -1)
		return;
	/*
	 * Sessions batch their replies themselves; Nagle would hold back the
	 * last small TLS record of each reply until the client's delayed ACK.
	 * Set here so the confined session never needs setsockopt().
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		log_warn("TCP_NODELAY");
	addr_string(peer, plen, phost, sizeof(phost), &pport);
	addr_string(local, llen, lhost, sizeof(lhost), &lport);
	if (active_sessions(p) >= p->conf.max_sessions ||
	    (s = child_ready_session(p)) == NULL) {
		sources_release(&p->sources, &src);
		log_warnx("refusing %s port %u: too many sessions", phost,
		    pport);
		parent_audit(p, "conn.refuse", "src", phost, "reason",
		    "max_sessions", (char *)NULL);
		refuse(fd, "-ERR [SYS/TEMP] Too many sessions, try later\r\n");
		return;
	}
	if (hand_over(p, s, fd, p->listen_flags[li], phost, pport, lhost,
	    lport) == 0) {
		s->source = src;
		s->counted = 1;
		audit_accept(p, s, phost, pport, lhost, lport, via, vlen);
	} else
		sources_release(&p->sources, &src);
}

static int
accept_one(struct parent *p, int li)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	int fd;

	fd = accept4(p->listen_fd[li], (struct sockaddr *)&peer, &plen,
	    SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == -1) {
		close(fd);
		return 0;
	}
	if (p->listen_flags[li] & LISTEN_F_PROXY)
		parent_proxy_wait(p, li, fd, &peer, plen, &local, llen);
	else
		parent_connection(p, li, fd, &peer, plen, &local, llen, NULL,
		    0);
	return 0;
}

static struct child *
session_by_id(struct parent *p, uint32_t id)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++)
		if (p->children[i].role == ROLE_SESSION &&
		    p->children[i].state >= CH_BUSY &&
		    p->children[i].session == id)
			return &p->children[i];
	return NULL;
}

static void
setup_storaged(struct parent *p, struct child *st, uint32_t id,
    const char *user, const char *mailbox)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_STORAGE_SETUP, id);
	ipc_put_str(&m, user);
	ipc_put_str(&m, mailbox);
	ipc_put_str(&m, p->conf.empty_dir);
	ipc_put_u32(&m, p->mail_uid);
	ipc_put_u32(&m, p->mail_gid);
	ipc_put_u32(&m, p->conf.max_messages);
	ipc_put_u32(&m, 0);
	st->session = id;
	st->state = CH_READY;
	snprintf(st->label, sizeof(st->label), "storaged %s", user);
	strlcpy(st->chan.name, st->label, sizeof(st->chan.name));
	child_send(st, &m);
}

/*
 * authd vouches for a user on a session: start that user's storaged and
 * give the session its channel.  Only a session that is serving a client
 * and has no storaged yet can be granted one.
 */
static void
grant(struct parent *p, struct ipc_msg *m)
{
	char user[USERNAME_MAX], canon[USERNAME_MAX], mailbox[PATH_MAX];
	char sid[16];
	struct child *s, *st;
	struct ipc_msg out;
	int sv[2];

	if (ipc_get_str(m, user, sizeof(user)) == -1 ||
	    ipc_get_str(m, mailbox, sizeof(mailbox)) == -1 ||
	    ipc_get_end(m) == -1 || username_canonical(user, canon,
	    sizeof(canon)) == -1 || strcmp(user, canon) != 0 ||
	    mailbox[0] != '/') {
		log_warnx("authd: malformed grant for session %u", m->session);
		return;
	}
	if ((s = session_by_id(p, m->session)) == NULL ||
	    s->state != CH_BUSY) {
		log_info("grant for session %u ignored: session gone or "
		    "already granted", m->session);
		return;
	}
	if (!parent_audit_ready(p)) {
		snprintf(sid, sizeof(sid), "%u", s->session);
		log_warnx("session %u: login of %s refused: the audit trail "
		    "is not being written (audit required)", s->session, user);
		parent_audit(p, "auth.refuse", "session", sid,
		    "user", user, "reason", "audit_unavailable", (char *)NULL);
		ipc_msg_init(&out, IPC_SESSION_STORAGE_FAIL, s->session);
		ipc_put_u32(&out, MBOX_TEMPFAIL);
		child_send(s, &out);
		return;
	}
	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return;
	}
	st = child_spawn(p, ROLE_STORAGED, &sv[1], 1);
	close(sv[1]);
	if (st == NULL) {
		close(sv[0]);
		ipc_msg_init(&out, IPC_SESSION_STORAGE_FAIL, s->session);
		ipc_put_u32(&out, MBOX_TEMPFAIL);
		child_send(s, &out);
		return;
	}
	parent_audit_link(p, st, s, user);
	setup_storaged(p, st, s->session, user, mailbox);
	ipc_msg_init(&out, IPC_SESSION_STORAGE, s->session);
	ipc_put_str(&out, user);
	out.fds[0] = sv[0];
	out.nfds = 1;
	if (child_send(s, &out) == 0)
		s->state = CH_GRANTED;
	close(sv[0]);
	log_info("session %u: storaged pid %d for %s", s->session,
	    (int)st->pid, user);
}

static void
child_log(struct child *c, struct ipc_msg *m)
{
	char text[IPC_MAX_STR + 1];
	uint32_t prio;
	size_t i;

	if (ipc_get_u32(m, &prio) == -1 || ipc_get_str(m, text,
	    sizeof(text)) == -1 || ipc_get_end(m) == -1)
		return;
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	/*
	 * Children escape what they log; a compromised one must still not
	 * forge log lines, so control bytes are replaced, not re-escaped.
	 */
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = '?';
	log_emit(prio, c->label, text);
}

/* Reads what a child sent; a violation closes its channel and kills it. */
static void
child_input(struct parent *p, struct child *c)
{
	struct ipc_msg m;
	int r;

	while ((r = ipc_recv(&c->chan, &m)) == IPC_OK) {
		if (m.type == IPC_HELLO) {
			if (c->state == CH_STARTING)
				c->state = CH_READY;
		} else if (m.type == IPC_LOG)
			child_log(c, &m);
		else if (m.type == IPC_AUTHD_GRANT && c == p->authd)
			grant(p, &m);
		else if (m.type == IPC_AUTHD_BAN && c == p->authd)
			parent_ban(p, &m);
		else if ((m.type == IPC_AUDIT_STATUS ||
		    m.type == IPC_AUDIT_CUTOFF ||
		    m.type == IPC_AUDIT_ROTATE_ASK) && c == p->audit)
			parent_audit_input(p, &m);
		else {
			log_warnx("%s: unexpected %s", c->label,
			    ipc_type_name(m.type));
			r = IPC_BAD;
			ipc_msg_close_fds(&m);
			break;
		}
	}
	if (r == IPC_AGAIN)
		return;
	ipc_chan_close(&c->chan);
	if (r == IPC_BAD)
		child_kill(c, SIGKILL);
}

/* Logs how a child ended; a kill by its sandbox goes to the audit trail. */
static void
report_exit(struct parent *p, struct child *c, pid_t pid, int status)
{
	char spid[16], sid[16];

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		log_warnx("%s (pid %d): killed by its sandbox (SIGSYS): "
		    "a forbidden system call", c->label, (int)pid);
		snprintf(spid, sizeof(spid), "%d", (int)pid);
		snprintf(sid, sizeof(sid), "%u", c->session);
		parent_audit(p, "security.sandbox_kill", "process",
		    ipc_role_name(c->role), "pid", spid, "session", sid,
		    (char *)NULL);
	} else if (WIFSIGNALED(status))
		log_warnx("%s (pid %d): killed by signal %d", c->label,
		    (int)pid, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("%s (pid %d): exited with status %d", c->label,
		    (int)pid, WEXITSTATUS(status));
}

static void
authd_gone(struct parent *p, struct child *c)
{
	uint64_t now = monotonic_ms();

	p->authd = NULL;
	p->authd_restart_at = now - c->started_ms < AUTHD_QUICK_DEATH_MS ?
	    now + AUTHD_RESTART_DELAY_MS : now;
	if (!quit) {
		log_warnx("authd exited, restarting");
		parent_audit(p, "service.authd_restart", (char *)NULL);
	}
}

static void
reap(struct parent *p)
{
	struct child *c;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = child_by_pid(p, pid)) == NULL)
			continue;
		/* what it said before it went (its last log line) is still
		 * in the channel if SIGCHLD came first: read it now; its pid
		 * is reaped and may be reused, so nothing may signal it */
		c->pid = 0;
		if (c->chan.fd != -1)
			child_input(p, c);
		report_exit(p, c, pid, status);
		if (c == p->authd)
			authd_gone(p, c);
		if (c == p->audit)
			parent_audit_gone(p, quit);
		if (c->role == ROLE_SESSION && c->state == CH_STARTING) {
			/* cannot confine itself: do not fork in a tight loop */
			log_warnx("session process failed to start; retrying "
			    "in %d ms", POOL_BACKOFF_MS);
			p->pool_backoff_until = monotonic_ms() +
			    POOL_BACKOFF_MS;
		}
		parent_source_done(p, c);
		child_release(c);
	}
}

static void
signal_input(struct parent *p)
{
	unsigned char sig[16];
	ssize_t n, i;

	while ((n = read(p->sig_pipe[0], sig, sizeof(sig))) > 0) {
		for (i = 0; i < n; i++) {
			if (sig[i] == SIGCHLD)
				reap(p);
			else if (sig[i] == SIGTERM || sig[i] == SIGINT)
				quit = 1;
			else if (sig[i] == SIGUSR1)
				parent_audit_rotate(p, "signal");
			else if (sig[i] == SIGHUP)
				reload(p);
		}
	}
}

static int
poll_timeout(struct parent *p)
{
	uint64_t now = monotonic_ms(), next = UINT64_MAX;

	if (p->authd == NULL)
		next = p->authd_restart_at;
	if (p->pool_backoff_until > now && p->pool_backoff_until < next)
		next = p->pool_backoff_until;
	if (p->tls_ready && p->conf.tls_ticket_lifetime_ms > 0 &&
	    p->ticket_rotated_ms + p->conf.tls_ticket_lifetime_ms < next)
		next = p->ticket_rotated_ms + p->conf.tls_ticket_lifetime_ms;
	if (parent_proxy_deadline(p) < next)
		next = parent_proxy_deadline(p);
	if (p->conf.audit_file[0] != '\0' && p->audit == NULL &&
	    p->audit_restart_at < next)
		next = p->audit_restart_at;
	if (control_deadline(&p->control) < next)
		next = control_deadline(&p->control);
	if (next == UINT64_MAX)
		return -1;
	return next > now ? (int)(next - now) : 0;
}

static void
shutdown_children(struct parent *p)
{
	uint64_t deadline = monotonic_ms() + 3000;

	child_signal_all(p, SIGTERM);
	while (monotonic_ms() < deadline && (child_count(p, ROLE_SESSION,
	    -1) + child_count(p, ROLE_AUTHD, -1) +
	    child_count(p, ROLE_STORAGED, -1)) > 0) {
		usleep(20 * 1000);
		reap(p);
	}
	/* the audit writer (deaf to SIGTERM) last: the channel's end tells
	 * it to seal the trail and exit */
	if (p->audit != NULL) {
		ipc_chan_close(&p->audit->chan);
		deadline = monotonic_ms() + 1000;
		while (p->audit != NULL && monotonic_ms() < deadline) {
			usleep(10 * 1000);
			reap(p);
		}
	}
	child_signal_all(p, SIGKILL);
}

/*
 * The poll set holds only live descriptors (poll refuses more entries than
 * RLIMIT_NOFILE); who[] maps each child entry back to its table slot.
 */
void
parent_loop(struct parent *p)
{
	struct pollfd *pfd;
	size_t *who, n, i, first, proxies, nproxies, controls, ncontrols;
	size_t nfds = 1 + MAX_LISTENERS + PROXY_WAIT_MAX + CONTROL_POLLFDS +
	    p->nchildren;

	if ((pfd = calloc(nfds, sizeof(*pfd))) == NULL ||
	    (who = calloc(nfds, sizeof(*who))) == NULL)
		fatal("calloc");
	while (!quit) {
		parent_audit_start(p);
		if (p->authd == NULL && monotonic_ms() >= p->authd_restart_at)
			spawn_authd(p);
		rotate_ticket_keys(p);
		refill_pool(p);
		n = 0;
		pfd[n++] = (struct pollfd){ p->sig_pipe[0], POLLIN, 0 };
		for (i = 0; i < (size_t)p->nlisten; i++)
			pfd[n++] = (struct pollfd){ can_accept(p) ?
			    p->listen_fd[i] : -1, POLLIN, 0 };
		proxies = n;
		nproxies = parent_proxy_pollfds(p, pfd + proxies);
		n += nproxies;
		controls = n;
		ncontrols = control_pollfds(&p->control, pfd + controls);
		n += ncontrols;
		first = n;
		for (i = 0; i < p->nchildren; i++) {
			if (p->children[i].state == CH_FREE ||
			    p->children[i].chan.fd == -1)
				continue;
			who[n] = i;
			pfd[n++] = (struct pollfd){ p->children[i].chan.fd,
			    POLLIN, 0 };
		}
		if (poll(pfd, n, poll_timeout(p)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents)
			signal_input(p);
		for (i = first; i < n; i++)
			if (pfd[i].revents &&
			    p->children[who[i]].chan.fd == pfd[i].fd)
				child_input(p, &p->children[who[i]]);
		parent_proxy_events(p, pfd + proxies, nproxies);
		control_events(p, pfd + controls, ncontrols);
		for (i = 0; i < (size_t)p->nlisten; i++)
			while (pfd[1 + i].revents && can_accept(p) &&
			    accept_one(p, i) == 0)
				;
	}
	control_stop(&p->control);
	log_info("shutting down");
	parent_audit(p, "service.stop", (char *)NULL);
	shutdown_children(p);
	free(who);
	free(pfd);
}
