/*
 * Channel framing and the typed field codec.  Every process uses these
 * functions and nothing else to talk to its peers, so the length checks, the
 * descriptor accounting and the permission table are applied in one place.
 * Anything unexpected makes ipc_recv() return IPC_BAD and the caller drops
 * the channel: there is no "log and carry on" for a peer that misbehaves.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "util.h"

#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC	0
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL		0
#endif

int
ipc_socketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		return -1;
	if (fd_set_cloexec(sv[0]) == -1 || fd_set_cloexec(sv[1]) == -1 ||
	    fd_set_nonblock(sv[0]) == -1 || fd_set_nonblock(sv[1]) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return 0;
}

void
ipc_chan_init(struct ipc_chan *c, int fd, int local, int peer,
    const char *name)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->local_role = local;
	c->peer_role = peer;
	strlcpy(c->name, name, sizeof(c->name));
}

void
ipc_chan_close(struct ipc_chan *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->hello_seen = 0;
}

void
ipc_msg_init(struct ipc_msg *m, unsigned int type, uint32_t session)
{
	m->type = type;
	m->session = session;
	m->nfds = 0;
	m->fds[0] = m->fds[1] = -1;
	m->len = m->pos = 0;
	m->error = 0;
}

void
ipc_msg_close_fds(struct ipc_msg *m)
{
	int i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i] != -1)
			close(m->fds[i]);
	m->nfds = 0;
}

static void
put_bytes(struct ipc_msg *m, const void *p, size_t n)
{
	if (m->error || n > sizeof(m->data) - m->len) {
		m->error = 1;
		return;
	}
	memcpy(m->data + m->len, p, n);
	m->len += n;
}

void
ipc_put_u32(struct ipc_msg *m, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	put_bytes(m, b, sizeof(b));
}

void
ipc_put_u64(struct ipc_msg *m, uint64_t v)
{
	ipc_put_u32(m, (uint32_t)v);
	ipc_put_u32(m, (uint32_t)(v >> 32));
}

/* Strings travel as u16 length + bytes, without NUL, at most IPC_MAX_STR. */
void
ipc_put_str(struct ipc_msg *m, const char *s)
{
	size_t n = strlen(s);
	uint8_t b[2];

	if (n > IPC_MAX_STR) {
		m->error = 1;
		return;
	}
	b[0] = n & 0xff;
	b[1] = n >> 8;
	put_bytes(m, b, 2);
	put_bytes(m, s, n);
}

static const uint8_t *
get_bytes(struct ipc_msg *m, size_t n)
{
	const uint8_t *p;

	if (m->error || n > m->len - m->pos) {
		m->error = 1;
		return NULL;
	}
	p = m->data + m->pos;
	m->pos += n;
	return p;
}

int
ipc_get_u32(struct ipc_msg *m, uint32_t *v)
{
	const uint8_t *b = get_bytes(m, 4);

	if (b == NULL)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
	return 0;
}

int
ipc_get_u64(struct ipc_msg *m, uint64_t *v)
{
	uint32_t lo, hi;

	if (ipc_get_u32(m, &lo) == -1 || ipc_get_u32(m, &hi) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* Copies a string field into dst; fails if it holds a NUL or does not fit. */
int
ipc_get_str(struct ipc_msg *m, char *dst, size_t dstsz)
{
	const uint8_t *b, *s;
	size_t n;

	if ((b = get_bytes(m, 2)) == NULL)
		return -1;
	n = (size_t)b[0] | (size_t)b[1] << 8;
	if (n > IPC_MAX_STR || n >= dstsz || (s = get_bytes(m, n)) == NULL ||
	    memchr(s, '\0', n) != NULL) {
		m->error = 1;
		return -1;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* True when every field was read and nothing trails. */
int
ipc_get_end(struct ipc_msg *m)
{
	if (m->error || m->pos != m->len) {
		m->error = 1;
		return -1;
	}
	return 0;
}

size_t
ipc_encode_header(const struct ipc_msg *m, uint8_t *h)
{
	uint32_t len = m->len, sid = m->session;

	h[0] = m->type & 0xff;
	h[1] = m->type >> 8;
	h[2] = m->nfds & 0xff;
	h[3] = 0;
	h[4] = len; h[5] = len >> 8; h[6] = len >> 16; h[7] = len >> 24;
	h[8] = sid; h[9] = sid >> 8; h[10] = sid >> 16; h[11] = sid >> 24;
	return IPC_HDR_LEN;
}

int
ipc_send(struct ipc_chan *c, struct ipc_msg *m)
{
	const struct ipc_type_info *ti = ipc_type_info(m->type);
	uint8_t hdr[IPC_HDR_LEN];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	} cm;
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;

	if (c->fd == -1) {
		errno = EBADF;
		return -1;
	}
	if (ti == NULL || m->error || m->nfds != ti->nfds ||
	    m->len < ti->min_len || m->len > ti->max_len ||
	    !ipc_type_allowed(m->type, c->local_role, c->peer_role))
		fatalx("channel %s: refusing to send malformed %s",
		    c->name, ipc_type_name(m->type));
	ipc_encode_header(m, hdr);
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = m->data;
	iov[1].iov_len = m->len;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (m->nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
		memcpy(CMSG_DATA(&cm.hdr), m->fds, sizeof(int) * m->nfds);
	}
	do {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	return 0;
}

int
ipc_send_hello(struct ipc_chan *c)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION);
	ipc_put_u32(&m, c->local_role);
	return ipc_send(c, &m);
}

static int
check_hello(struct ipc_chan *c, struct ipc_msg *m, const char **why)
{
	uint32_t version, role;

	if (ipc_get_u32(m, &version) == -1 || ipc_get_u32(m, &role) == -1 ||
	    ipc_get_end(m) == -1) {
		*why = "malformed HELLO";
		return IPC_BAD;
	}
	if (version != IPC_VERSION) {
		*why = "protocol version mismatch";
		return IPC_BAD;
	}
	if ((int)role != c->peer_role) {
		*why = "peer claims another role";
		return IPC_BAD;
	}
	m->pos = 0;
	c->hello_seen = 1;
	return IPC_OK;
}

/*
 * Checks one received datagram against the header rules and the permission
 * table.  m->fds/nfds must already hold what arrived with it.
 */
int
ipc_decode(struct ipc_chan *c, const uint8_t *buf, size_t n,
    struct ipc_msg *m, const char **why)
{
	const struct ipc_type_info *ti;
	uint32_t len, type, nfds;

	if (n < IPC_HDR_LEN) {
		*why = "short header";
		return IPC_BAD;
	}
	type = buf[0] | buf[1] << 8;
	nfds = buf[2];
	len = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 |
	    (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
	m->type = type;
	m->session = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 |
	    (uint32_t)buf[10] << 16 | (uint32_t)buf[11] << 24;
	m->pos = 0;
	m->error = 0;
	if ((ti = ipc_type_info(type)) == NULL) {
		*why = "unknown message type";
		return IPC_BAD;
	}
	if (!ipc_type_allowed(type, c->peer_role, c->local_role)) {
		*why = "message type not allowed from this peer";
		return IPC_BAD;
	}
	if (buf[3] != 0 || nfds != ti->nfds || (int)nfds != m->nfds) {
		*why = "wrong number of descriptors";
		return IPC_BAD;
	}
	if (len != n - IPC_HDR_LEN || len < ti->min_len ||
	    len > ti->max_len) {
		*why = "bad payload length";
		return IPC_BAD;
	}
	memcpy(m->data, buf + IPC_HDR_LEN, len);
	m->len = len;
	/* a child's start-up error (LOG) may come before its HELLO: it is
	 * why the child will never send one */
	if (!c->hello_seen && type != IPC_LOG) {
		if (type != IPC_HELLO) {
			*why = "message before HELLO";
			return IPC_BAD;
		}
		return check_hello(c, m, why);
	}
	if (type == IPC_HELLO) {
		*why = "second HELLO";
		return IPC_BAD;
	}
	return IPC_OK;
}

static int
collect_fds(struct msghdr *mh, struct ipc_msg *m)
{
	struct cmsghdr *cmh;
	int bad = 0;

	for (cmh = CMSG_FIRSTHDR(mh); cmh != NULL;
	    cmh = CMSG_NXTHDR(mh, cmh)) {
		size_t i, cnt;
		int fd;

		if (cmh->cmsg_level != SOL_SOCKET ||
		    cmh->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		cnt = (cmh->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			memcpy(&fd, CMSG_DATA(cmh) + i * sizeof(int),
			    sizeof(fd));
			if (m->nfds < IPC_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else {
				close(fd);
				bad = 1;
			}
		}
	}
	return bad ? -1 : 0;
}

int
ipc_recv(struct ipc_chan *c, struct ipc_msg *m)
{
	static uint8_t buf[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 1];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * (IPC_MAX_FDS + 1))];
	} cm;
	const char *why = NULL;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;
	int resets = 0;

	ipc_msg_init(m, IPC_NONE, 0);
	if (c->fd == -1)
		return IPC_EOF;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	/*
	 * Linux reports ECONNRESET once when the peer closed with data still
	 * unread on its side, ahead of messages still queued for us: read
	 * again so a peer's last words (a final status) are not lost.
	 */
	do {
		n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n == -1 && (errno == EINTR || (errno == ECONNRESET &&
	    resets++ == 0)));
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return IPC_AGAIN;
		if (errno == ECONNRESET)
			return IPC_EOF;
		log_warn("channel %s: recvmsg", c->name);
		return IPC_BAD;
	}
	if (collect_fds(&mh, m) == -1 || (mh.msg_flags & MSG_CTRUNC))
		why = "bad or truncated control data";
	else if (mh.msg_flags & MSG_TRUNC || (size_t)n > sizeof(buf) - 1)
		why = "oversized message";
	else if (n == 0 && m->nfds == 0)
		return IPC_EOF;
	if (why == NULL && ipc_decode(c, buf, n, m, &why) == IPC_OK) {
		/* the datagram may carry a password: keep only m's copy */
		explicit_bzero(buf, n);
		return IPC_OK;
	}
	explicit_bzero(buf, sizeof(buf));
	log_warnx("channel %s: %s from %s (type %u), dropping channel",
	    c->name, why, ipc_role_name(c->peer_role), m->type);
	ipc_msg_close_fds(m);
	return IPC_BAD;
}
