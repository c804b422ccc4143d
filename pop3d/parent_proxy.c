/*
 * PROXY protocol (v1 and v2) on listeners configured with "proxy LIST":
 * the connection must come from an address on LIST, the trusted proxies,
 * or it is closed before a byte is read; the header must then arrive
 * whole within PROXY_HEADER_MS.  The parent peeks at the bytes and
 * consumes exactly the header, so what follows (the client's TLS hello)
 * stays for the session.  The parser is policy/proxy.c, fuzzed on its own;
 * the addresses it asserts are what the access lists, the limits and the
 * logs see.  TLVs are ignored.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parent.h"
#include "proxy.h"
#include "util.h"

#define PROXY_HEADER_MS	3000

static void
drop(struct parent *p, size_t i, const char *why)
{
	struct proxy_wait *w = &p->proxy_wait[i];
	char host[IP_ADDR_STRLEN];
	struct ip_addr a;

	if (ip_addr_from_sockaddr((struct sockaddr *)&w->peer, w->plen,
	    &a) == 0)
		ip_addr_str(&a, host, sizeof(host));
	else
		strlcpy(host, "?", sizeof(host));
	log_warnx("refused %s: PROXY header: %s", host, why);
	parent_audit(p, "conn.refuse", "peer", host, "reason", "proxy_header",
	    "detail", why, (char *)NULL);
	close(w->fd);
	p->proxy_wait[i] = p->proxy_wait[--p->nproxy];
}

/* A connection on a PROXY listener: from a trusted proxy, wait for its
 * header; from anyone else, close it unread. */
void
parent_proxy_wait(struct parent *p, int li, int fd,
    const struct sockaddr_storage *peer, socklen_t plen,
    const struct sockaddr_storage *local, socklen_t llen)
{
	const struct access_list *trusted = config_access_named(&p->conf,
	    p->conf.listen[p->listen_conf[li]].proxy);
	char host[IP_ADDR_STRLEN];
	struct proxy_wait *w;
	struct ip_addr a;

	if (ip_addr_from_sockaddr((const struct sockaddr *)peer, plen,
	    &a) == -1) {
		close(fd);
		return;
	}
	if (trusted == NULL || access_check(trusted, &a, NULL) !=
	    ACCESS_ALLOW) {
		ip_addr_str(&a, host, sizeof(host));
		log_warnx("refused %s: not a trusted proxy (access list %s)",
		    host, trusted ? trusted->name : "?");
		parent_audit(p, "conn.refuse", "peer", host, "reason",
		    "untrusted_proxy", (char *)NULL);
		close(fd);
		return;
	}
	if (p->nproxy == PROXY_WAIT_MAX) {
		log_warnx("refusing a proxied connection: %d headers pending",
		    PROXY_WAIT_MAX);
		close(fd);
		return;
	}
	w = &p->proxy_wait[p->nproxy++];
	w->fd = fd;
	w->li = li;
	w->deadline = monotonic_ms() + PROXY_HEADER_MS;
	w->peer = *peer;
	w->plen = plen;
	w->local = *local;
	w->llen = llen;
}

/* Reads header i as far as it has come; 1 when it is done with. */
static int
proxy_input(struct parent *p, size_t i)
{
	struct proxy_wait w = p->proxy_wait[i];
	uint8_t buf[PROXY_MAX_HEADER];
	struct proxy_result r;
	const char *why = NULL;
	ssize_t n;

	n = recv(w.fd, buf, sizeof(buf), MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		drop(p, i, n == 0 ? "connection closed" : strerror(errno));
		return 1;
	}
	switch (proxy_parse(buf, (size_t)n, &r, &why)) {
	case PROXY_NEED_MORE:
		if ((size_t)n < sizeof(buf))
			return 0;
		why = "too long";
		/* FALLTHROUGH */
	case PROXY_BAD:
		drop(p, i, why != NULL ? why : "malformed");
		return 1;
	case PROXY_DONE:
		break;
	}
	/* consume exactly the header: the rest is the client's */
	if (recv(w.fd, buf, r.header_len, 0) != (ssize_t)r.header_len) {
		drop(p, i, "short read");
		return 1;
	}
	p->proxy_wait[i] = p->proxy_wait[--p->nproxy];
	if (r.local)
		parent_connection(p, w.li, w.fd, &w.peer, w.plen, &w.local,
		    w.llen, &w.peer, w.plen);
	else
		parent_connection(p, w.li, w.fd, &r.src, r.srclen, &r.dst,
		    r.dstlen, &w.peer, w.plen);
	return 1;
}

size_t
parent_proxy_pollfds(struct parent *p, struct pollfd *pfd)
{
	size_t i;

	for (i = 0; i < p->nproxy; i++)
		pfd[i] = (struct pollfd){ p->proxy_wait[i].fd, POLLIN, 0 };
	return p->nproxy;
}

/* Handles the headers poll() found readable (pfd as filled above, n of
 * them), then drops those past their deadline. */
void
parent_proxy_events(struct parent *p, const struct pollfd *pfd, size_t n)
{
	uint64_t now = monotonic_ms();
	size_t i, k;

	for (k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		for (i = 0; i < p->nproxy; i++)
			if (p->proxy_wait[i].fd == pfd[k].fd) {
				proxy_input(p, i);
				break;
			}
	}
	for (i = 0; i < p->nproxy; )
		if (now >= p->proxy_wait[i].deadline)
			drop(p, i, "not complete in time");
		else
			i++;
}

uint64_t
parent_proxy_deadline(const struct parent *p)
{
	uint64_t next = UINT64_MAX;
	size_t i;

	for (i = 0; i < p->nproxy; i++)
		if (p->proxy_wait[i].deadline < next)
			next = p->proxy_wait[i].deadline;
	return next;
}
