/*
 * Unit tests for common/ipc.c and common/ipc_proto.c (threat-model T08):
 * channel pairs from ipc_socketpair(); the HELLO handshake and its
 * failures (non-HELLO first, wrong version, a peer claiming another role,
 * a second HELLO); an ipc_send()/ipc_recv() round trip of every message
 * type between the roles the permission table allows, descriptors included
 * (they arrive close-on-exec and usable, in order); datagrams forged with
 * sendmsg() on the raw socket -- types the peer's role may not send, unknown
 * type numbers, payloads shorter or longer than the table allows, declared
 * length not matching, descriptors where none belong or missing, too many,
 * oversized datagrams -- all give IPC_BAD without leaking descriptors; EOF
 * and "nothing to read"; ipc_decode() on crafted buffers; the field codec
 * (u32/u64 round trips and byte order, strings up to IPC_MAX_STR, NUL,
 * truncation and over-long destination checks, trailing bytes, put
 * overflow); and, in forked children, that ipc_send() exits with status 1
 * rather than send a malformed message.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "util.h"
#include "test.h"

static struct ipc_msg m, r, extra;

/* Open descriptors of this process, to catch leaks. */
static int
count_fds(void)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own descriptor */
}

/* A connected pair: a speaks as role ra to b, which speaks as rb. */
static int
pair(struct ipc_chan *a, int ra, struct ipc_chan *b, int rb)
{
	int sv[2];

	if (ipc_socketpair(sv) == -1)
		return -1;
	ipc_chan_init(a, sv[0], ra, rb, "a");
	ipc_chan_init(b, sv[1], rb, ra, "b");
	return 0;
}

/* A pair that has exchanged HELLOs. */
static int
pair_hello(struct ipc_chan *a, int ra, struct ipc_chan *b, int rb)
{
	if (pair(a, ra, b, rb) == -1)
		return -1;
	if (ipc_send_hello(a) == -1 || ipc_send_hello(b) == -1)
		return -1;
	if (ipc_recv(b, &r) != IPC_OK || r.type != IPC_HELLO)
		return -1;
	if (ipc_recv(a, &r) != IPC_OK || r.type != IPC_HELLO)
		return -1;
	return 0;
}

static void
unpair(struct ipc_chan *a, struct ipc_chan *b)
{
	ipc_chan_close(a);
	ipc_chan_close(b);
}

/* Sends raw bytes with `nfds' descriptors attached. */
static int
send_raw(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 8)];
	} cm;
	struct iovec iov;
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(&cm.hdr), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT) == (ssize_t)len ? 0 : -1;
}

/* Builds header + payload of a message into buf; returns the length. */
static size_t
frame(uint8_t *buf, unsigned int type, unsigned int hdr_nfds,
    uint32_t declared, const void *payload, size_t plen)
{
	struct ipc_msg h;

	ipc_msg_init(&h, IPC_NONE, 7);
	h.type = type;
	h.nfds = hdr_nfds;
	h.len = declared;
	ipc_encode_header(&h, buf);
	if (plen > 0)
		memcpy(buf + IPC_HDR_LEN, payload, plen);
	return IPC_HDR_LEN + plen;
}

/*
 * Sends a forged datagram to a fresh, greeted channel whose peer has role
 * `from' and local role `to', and returns what ipc_recv() makes of it.
 * Checks that nothing leaked and that no descriptor was handed out.
 */
static int
forge(int from, int to, const void *buf, size_t len, int nfds)
{
	struct ipc_chan a, b;
	int fds[8], i, ret, before;

	before = count_fds();
	if (pair_hello(&a, from, &b, to) == -1)
		return -100;
	for (i = 0; i < nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (send_raw(a.fd, buf, len, fds, nfds) == -1)
		ret = -101;
	else
		ret = ipc_recv(&b, &r);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ret != IPC_OK)
		CHECK(r.nfds == 0);
	ipc_msg_close_fds(&r);
	unpair(&a, &b);
	CHECK(count_fds() == before);
	return ret;
}

static void
test_socketpair(void)
{
	int sv[2], type;
	socklen_t sl = sizeof(type);

	CHECK(ipc_socketpair(sv) == 0);
	CHECK(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(sv[1], F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(sv[1], F_GETFL) & O_NONBLOCK);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &sl) == 0 &&
	    type == SOCK_SEQPACKET);
	close(sv[0]);
	close(sv[1]);
}

static void
test_hello(void)
{
	struct ipc_chan a, b;

	CHECK(pair(&a, ROLE_PARENT, &b, ROLE_SESSION) == 0);
	CHECK(!a.hello_seen && !b.hello_seen);
	CHECK(ipc_recv(&b, &r) == IPC_AGAIN);
	CHECK(ipc_send_hello(&a) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_OK);
	CHECK(r.type == IPC_HELLO && r.nfds == 0 && r.len == 8);
	CHECK(b.hello_seen);
	CHECK(ipc_send_hello(&b) == 0);
	CHECK(ipc_recv(&a, &r) == IPC_OK);
	CHECK(a.hello_seen);
	CHECK(ipc_recv(&a, &r) == IPC_AGAIN);
	CHECK(ipc_recv(&b, &r) == IPC_AGAIN);
	unpair(&a, &b);

	/* a non-HELLO first message */
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_STORAGED) == 0);
	ipc_msg_init(&m, IPC_MBOX_STAT, 0);
	CHECK(ipc_send(&a, &m) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	CHECK(!b.hello_seen);
	unpair(&a, &b);

	/* a second HELLO */
	CHECK(pair_hello(&a, ROLE_SESSION, &b, ROLE_AUTHD) == 0);
	CHECK(ipc_send_hello(&a) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	unpair(&a, &b);
}

static void
test_hello_forged(void)
{
	struct ipc_chan a, b;
	uint8_t buf[64];
	size_t n;

	/* wrong version */
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_PARENT) == 0);
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION + 1);
	ipc_put_u32(&m, ROLE_SESSION);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK(send_raw(a.fd, buf, n, NULL, 0) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	CHECK(!b.hello_seen);
	unpair(&a, &b);

	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_PARENT) == 0);
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, 0);
	ipc_put_u32(&m, ROLE_SESSION);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK(send_raw(a.fd, buf, n, NULL, 0) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	unpair(&a, &b);

	/* a peer claiming another role */
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_PARENT) == 0);
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION);
	ipc_put_u32(&m, ROLE_AUTHD);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK(send_raw(a.fd, buf, n, NULL, 0) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	CHECK(!b.hello_seen);
	unpair(&a, &b);

	/* claiming the receiver's own role, or none, or a huge number */
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_PARENT) == 0);
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION);
	ipc_put_u32(&m, ROLE_PARENT);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK(send_raw(a.fd, buf, n, NULL, 0) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	unpair(&a, &b);
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_PARENT) == 0);
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION);
	ipc_put_u32(&m, ROLE_SESSION + 0x100);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK(send_raw(a.fd, buf, n, NULL, 0) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	unpair(&a, &b);

	/* HELLO of the wrong length */
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_PARENT) == 0);
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION);
	ipc_put_u32(&m, ROLE_SESSION);
	ipc_put_u32(&m, 0);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK(send_raw(a.fd, buf, n, NULL, 0) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	unpair(&a, &b);
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_PARENT) == 0);
	n = frame(buf, IPC_HELLO, 0, 4, m.data, 4);
	CHECK(send_raw(a.fd, buf, n, NULL, 0) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_BAD);
	unpair(&a, &b);
}

/* Sends m from a to b and receives it; returns ipc_recv()'s verdict. */
static int
roundtrip(int from, int to, struct ipc_msg *msg)
{
	struct ipc_chan a, b;
	int ret;

	if (pair_hello(&a, from, &b, to) == -1)
		return -100;
	if (ipc_send(&a, msg) == -1)
		ret = -101;
	else
		ret = ipc_recv(&b, &r);
	if (ret == IPC_OK && ipc_recv(&b, &extra) != IPC_AGAIN)
		ret = -102;
	unpair(&a, &b);
	return ret;
}

static void
test_roundtrip_simple(void)
{
	char s1[IPC_MAX_STR + 1], s2[IPC_MAX_STR + 1], s3[IPC_MAX_STR + 1];
	uint32_t u1, u2, u3, u4;
	uint64_t v;
	int role;

	/* LOG from each child role to the parent */
	for (role = ROLE_SESSION; role <= ROLE_STORAGED; role++) {
		ipc_msg_init(&m, IPC_LOG, 0);
		ipc_put_u32(&m, 4);
		ipc_put_str(&m, "a log line");
		CHECK(roundtrip(role, ROLE_PARENT, &m) == IPC_OK);
		CHECK(r.type == IPC_LOG);
		CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == 4);
		CHECK(ipc_get_str(&r, s1, sizeof(s1)) == 0);
		CHECK_STR(s1, "a log line");
		CHECK(ipc_get_end(&r) == 0);
	}

	ipc_msg_init(&m, IPC_SESSION_STORAGE_FAIL, 0xdeadbeef);
	ipc_put_u32(&m, MBOX_INUSE);
	CHECK(roundtrip(ROLE_PARENT, ROLE_SESSION, &m) == IPC_OK);
	CHECK(r.type == IPC_SESSION_STORAGE_FAIL);
	CHECK(r.session == 0xdeadbeef);
	CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == MBOX_INUSE);
	CHECK(ipc_get_end(&r) == 0);

	ipc_msg_init(&m, IPC_AUTHD_GRANT, 17);
	ipc_put_str(&m, "alice@example.org");
	ipc_put_str(&m, "/var/mail/example.org/alice");
	CHECK(roundtrip(ROLE_AUTHD, ROLE_PARENT, &m) == IPC_OK);
	CHECK(r.type == IPC_AUTHD_GRANT && r.session == 17);
	CHECK(ipc_get_str(&r, s1, sizeof(s1)) == 0);
	CHECK(ipc_get_str(&r, s2, sizeof(s2)) == 0);
	CHECK(ipc_get_end(&r) == 0);
	CHECK_STR(s1, "alice@example.org");
	CHECK_STR(s2, "/var/mail/example.org/alice");

	ipc_msg_init(&m, IPC_AUTH_REQUEST, 3);
	ipc_put_str(&m, "USER");
	ipc_put_str(&m, "alice@example.org");
	ipc_put_str(&m, "pass with spaces\t=");
	CHECK(roundtrip(ROLE_SESSION, ROLE_AUTHD, &m) == IPC_OK);
	CHECK(r.type == IPC_AUTH_REQUEST);
	CHECK(ipc_get_str(&r, s1, sizeof(s1)) == 0);
	CHECK(ipc_get_str(&r, s2, sizeof(s2)) == 0);
	CHECK(ipc_get_str(&r, s3, sizeof(s3)) == 0);
	CHECK(ipc_get_end(&r) == 0);
	CHECK_STR(s1, "USER");
	CHECK_STR(s3, "pass with spaces\t=");

	/* the largest AUTH_REQUEST: three strings of IPC_MAX_STR */
	memset(s1, 'p', IPC_MAX_STR);
	s1[IPC_MAX_STR] = '\0';
	ipc_msg_init(&m, IPC_AUTH_REQUEST, 3);
	ipc_put_str(&m, s1);
	ipc_put_str(&m, s1);
	ipc_put_str(&m, s1);
	CHECK(m.error == 0 && m.len == 3 * (2 + IPC_MAX_STR));
	CHECK(roundtrip(ROLE_SESSION, ROLE_AUTHD, &m) == IPC_OK);
	CHECK(ipc_get_str(&r, s2, sizeof(s2)) == 0);
	CHECK(ipc_get_str(&r, s2, sizeof(s2)) == 0);
	CHECK(ipc_get_str(&r, s2, sizeof(s2)) == 0);
	CHECK(ipc_get_end(&r) == 0);
	CHECK(strcmp(s1, s2) == 0);

	ipc_msg_init(&m, IPC_AUTH_RESULT, 3);
	ipc_put_u32(&m, AUTH_TEMPFAIL);
	CHECK(roundtrip(ROLE_AUTHD, ROLE_SESSION, &m) == IPC_OK);
	CHECK(r.type == IPC_AUTH_RESULT);
	CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == AUTH_TEMPFAIL);
	CHECK(ipc_get_end(&r) == 0);

	ipc_msg_init(&m, IPC_STORAGE_SETUP, 0);
	ipc_put_str(&m, "alice@example.org");
	ipc_put_str(&m, "/var/mail/example.org/alice");
	ipc_put_str(&m, "/var/empty");
	ipc_put_u32(&m, 1001);
	ipc_put_u32(&m, 1002);
	ipc_put_u32(&m, 200000);
	ipc_put_u32(&m, 0);
	CHECK(roundtrip(ROLE_PARENT, ROLE_STORAGED, &m) == IPC_OK);
	CHECK(r.type == IPC_STORAGE_SETUP);
	CHECK(ipc_get_str(&r, s1, sizeof(s1)) == 0);
	CHECK(ipc_get_str(&r, s2, sizeof(s2)) == 0);
	CHECK(ipc_get_str(&r, s3, sizeof(s3)) == 0);
	CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == 1001);
	CHECK(ipc_get_u32(&r, &u2) == 0 && u2 == 1002);
	CHECK(ipc_get_u32(&r, &u3) == 0 && u3 == 200000);
	CHECK(ipc_get_u32(&r, &u4) == 0 && u4 == 0);
	CHECK(ipc_get_end(&r) == 0);
	CHECK_STR(s3, "/var/empty");

	/* session -> storaged requests */
	ipc_msg_init(&m, IPC_MBOX_STAT, 0);
	CHECK(roundtrip(ROLE_SESSION, ROLE_STORAGED, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_STAT && r.len == 0);
	CHECK(ipc_get_end(&r) == 0);
	ipc_msg_init(&m, IPC_MBOX_RSET, 0);
	CHECK(roundtrip(ROLE_SESSION, ROLE_STORAGED, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_RSET && r.len == 0);
	ipc_msg_init(&m, IPC_MBOX_UPDATE, 0);
	CHECK(roundtrip(ROLE_SESSION, ROLE_STORAGED, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_UPDATE && r.len == 0);

	ipc_msg_init(&m, IPC_MBOX_LIST, 0);
	ipc_put_u32(&m, 1);
	ipc_put_u32(&m, IPC_LIST_MAX);
	CHECK(roundtrip(ROLE_SESSION, ROLE_STORAGED, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_LIST);
	CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == 1);
	CHECK(ipc_get_u32(&r, &u2) == 0 && u2 == IPC_LIST_MAX);
	CHECK(ipc_get_end(&r) == 0);

	ipc_msg_init(&m, IPC_MBOX_RETR, 0);
	ipc_put_u32(&m, 2147483647U);
	CHECK(roundtrip(ROLE_SESSION, ROLE_STORAGED, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_RETR);
	CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == 2147483647U);

	ipc_msg_init(&m, IPC_MBOX_DELE, 0);
	ipc_put_u32(&m, 1);
	CHECK(roundtrip(ROLE_SESSION, ROLE_STORAGED, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_DELE);

	/* storaged -> session replies */
	ipc_msg_init(&m, IPC_MBOX_STATUS, 0);
	ipc_put_u32(&m, MBOX_OK);
	ipc_put_u32(&m, 3);
	ipc_put_u64(&m, UINT64_C(0x1122334455667788));
	CHECK(roundtrip(ROLE_STORAGED, ROLE_SESSION, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_STATUS);
	CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == MBOX_OK);
	CHECK(ipc_get_u32(&r, &u2) == 0 && u2 == 3);
	CHECK(ipc_get_u64(&r, &v) == 0 && v == UINT64_C(0x1122334455667788));
	CHECK(ipc_get_end(&r) == 0);

	ipc_msg_init(&m, IPC_MBOX_LISTING, 0);
	ipc_put_u32(&m, 0);
	ipc_put_u32(&m, 2);
	ipc_put_u32(&m, 1);
	ipc_put_u64(&m, 1234);
	ipc_put_str(&m, "uidl-1");
	ipc_put_u32(&m, 2);
	ipc_put_u64(&m, 0);
	ipc_put_str(&m, "uidl-2");
	CHECK(roundtrip(ROLE_STORAGED, ROLE_SESSION, &m) == IPC_OK);
	CHECK(r.type == IPC_MBOX_LISTING);
	CHECK(ipc_get_u32(&r, &u1) == 0 && u1 == 0);
	CHECK(ipc_get_u32(&r, &u2) == 0 && u2 == 2);
	CHECK(ipc_get_u32(&r, &u3) == 0 && u3 == 1);
	CHECK(ipc_get_u64(&r, &v) == 0 && v == 1234);
	CHECK(ipc_get_str(&r, s1, sizeof(s1)) == 0);
	CHECK_STR(s1, "uidl-1");
	CHECK(ipc_get_u32(&r, &u3) == 0 && u3 == 2);
	CHECK(ipc_get_u64(&r, &v) == 0 && v == 0);
	CHECK(ipc_get_str(&r, s1, sizeof(s1)) == 0);
	CHECK_STR(s1, "uidl-2");
	CHECK(ipc_get_end(&r) == 0);
}

/* The largest datagram: a LISTING of exactly IPC_MAX_PAYLOAD bytes. */
static void
test_roundtrip_max(void)
{
	uint32_t i, v;
	int ok = 1;

	ipc_msg_init(&m, IPC_MBOX_LISTING, 0);
	for (i = 0; i < IPC_MAX_PAYLOAD / 4; i++)
		ipc_put_u32(&m, i * 2654435761U);
	CHECK(m.error == 0 && m.len == IPC_MAX_PAYLOAD);
	CHECK(roundtrip(ROLE_STORAGED, ROLE_SESSION, &m) == IPC_OK);
	CHECK(r.len == IPC_MAX_PAYLOAD);
	for (i = 0; i < IPC_MAX_PAYLOAD / 4; i++)
		if (ipc_get_u32(&r, &v) == -1 || v != i * 2654435761U)
			ok = 0;
	CHECK(ok);
	CHECK(ipc_get_end(&r) == 0);
}

static int
pipe_carries(int wfd, int rfd)
{
	char buf[8];

	if (write(wfd, "ping", 4) != 4)
		return 0;
	return read(rfd, buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0;
}

static void
test_roundtrip_fds(void)
{
	struct ipc_chan a, b;
	char s[IPC_MAX_STR + 1], uidl[80];
	uint32_t u;
	uint64_t v;
	int p1[2], p2[2], before;

	before = count_fds();
	CHECK(pipe(p1) == 0 && pipe(p2) == 0);

	/* SESSION_CLIENT: two descriptors, in order */
	CHECK(pair_hello(&a, ROLE_PARENT, &b, ROLE_SESSION) == 0);
	ipc_msg_init(&m, IPC_SESSION_CLIENT, 9);
	m.fds[0] = p1[1];
	m.fds[1] = p2[1];
	m.nfds = 2;
	ipc_put_str(&m, "192.0.2.1");
	ipc_put_u32(&m, 54321);
	ipc_put_str(&m, "2001:db8::1");
	ipc_put_u32(&m, 110);
	ipc_put_u32(&m, LISTEN_F_PLAINTEXT_OK);
	CHECK(ipc_send(&a, &m) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_OK);
	CHECK(r.type == IPC_SESSION_CLIENT && r.session == 9);
	CHECK(r.nfds == 2);
	if (r.nfds == 2) {
		CHECK(r.fds[0] != p1[1] && r.fds[1] != p2[1]);
		CHECK(fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC);
		CHECK(fcntl(r.fds[1], F_GETFD) & FD_CLOEXEC);
		CHECK(pipe_carries(r.fds[0], p1[0]));
		CHECK(pipe_carries(r.fds[1], p2[0]));
	}
	CHECK(ipc_get_str(&r, s, sizeof(s)) == 0);
	CHECK_STR(s, "192.0.2.1");
	CHECK(ipc_get_u32(&r, &u) == 0 && u == 54321);
	CHECK(ipc_get_str(&r, s, sizeof(s)) == 0);
	CHECK_STR(s, "2001:db8::1");
	CHECK(ipc_get_u32(&r, &u) == 0 && u == 110);
	CHECK(ipc_get_u32(&r, &u) == 0 && u == LISTEN_F_PLAINTEXT_OK);
	CHECK(ipc_get_end(&r) == 0);
	ipc_msg_close_fds(&r);
	CHECK(r.nfds == 0);
	unpair(&a, &b);

	/* SESSION_STORAGE: one descriptor */
	CHECK(pair_hello(&a, ROLE_PARENT, &b, ROLE_SESSION) == 0);
	ipc_msg_init(&m, IPC_SESSION_STORAGE, 9);
	m.fds[0] = p1[1];
	m.nfds = 1;
	ipc_put_str(&m, "alice@example.org");
	CHECK(ipc_send(&a, &m) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_OK);
	CHECK(r.type == IPC_SESSION_STORAGE && r.nfds == 1);
	if (r.nfds == 1)
		CHECK(pipe_carries(r.fds[0], p1[0]));
	CHECK(ipc_get_str(&r, s, sizeof(s)) == 0);
	CHECK_STR(s, "alice@example.org");
	CHECK(ipc_get_end(&r) == 0);
	ipc_msg_close_fds(&r);
	unpair(&a, &b);

	/* AUTHD_SESSION: one descriptor */
	CHECK(pair_hello(&a, ROLE_PARENT, &b, ROLE_AUTHD) == 0);
	ipc_msg_init(&m, IPC_AUTHD_SESSION, 12);
	m.fds[0] = p2[1];
	m.nfds = 1;
	ipc_put_str(&m, "198.51.100.7");
	CHECK(ipc_send(&a, &m) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_OK);
	CHECK(r.type == IPC_AUTHD_SESSION && r.nfds == 1);
	if (r.nfds == 1)
		CHECK(pipe_carries(r.fds[0], p2[0]));
	CHECK(ipc_get_str(&r, s, sizeof(s)) == 0);
	CHECK_STR(s, "198.51.100.7");
	CHECK(ipc_get_end(&r) == 0);
	ipc_msg_close_fds(&r);
	unpair(&a, &b);

	/* MBOX_FILE: one descriptor */
	CHECK(pair_hello(&a, ROLE_STORAGED, &b, ROLE_SESSION) == 0);
	ipc_msg_init(&m, IPC_MBOX_FILE, 0);
	m.fds[0] = p1[1];
	m.nfds = 1;
	ipc_put_u32(&m, 5);
	ipc_put_u64(&m, UINT64_MAX);
	ipc_put_u32(&m, MBOX_FILE_CRLF);
	ipc_put_str(&m, "1700000000.M1P2.host");
	CHECK(ipc_send(&a, &m) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_OK);
	CHECK(r.type == IPC_MBOX_FILE && r.nfds == 1);
	if (r.nfds == 1)
		CHECK(pipe_carries(r.fds[0], p1[0]));
	CHECK(ipc_get_u32(&r, &u) == 0 && u == 5);
	CHECK(ipc_get_u64(&r, &v) == 0 && v == UINT64_MAX);
	CHECK(ipc_get_u32(&r, &u) == 0 && u == MBOX_FILE_CRLF);
	CHECK(ipc_get_str(&r, uidl, sizeof(uidl)) == 0 &&
	    strcmp(uidl, "1700000000.M1P2.host") == 0);
	CHECK(ipc_get_end(&r) == 0);
	ipc_msg_close_fds(&r);
	unpair(&a, &b);

	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	CHECK(count_fds() == before);
}

static void
test_permissions(void)
{
	static const struct {
		unsigned int	type;
		int		from, to;
	} bad[] = {
		{ IPC_AUTHD_GRANT, ROLE_SESSION, ROLE_PARENT },
		{ IPC_AUTHD_GRANT, ROLE_STORAGED, ROLE_PARENT },
		{ IPC_AUTH_RESULT, ROLE_STORAGED, ROLE_SESSION },
		{ IPC_AUTH_RESULT, ROLE_PARENT, ROLE_SESSION },
		{ IPC_MBOX_STATUS, ROLE_AUTHD, ROLE_SESSION },
		{ IPC_MBOX_STATUS, ROLE_PARENT, ROLE_SESSION },
		{ IPC_MBOX_STAT, ROLE_AUTHD, ROLE_STORAGED },
		{ IPC_MBOX_DELE, ROLE_PARENT, ROLE_STORAGED },
		{ IPC_SESSION_STORAGE_FAIL, ROLE_AUTHD, ROLE_SESSION },
		{ IPC_SESSION_STORAGE_FAIL, ROLE_STORAGED, ROLE_SESSION },
		{ IPC_STORAGE_SETUP, ROLE_SESSION, ROLE_STORAGED },
		{ IPC_AUTH_REQUEST, ROLE_SESSION, ROLE_PARENT },
		{ IPC_AUTH_REQUEST, ROLE_PARENT, ROLE_AUTHD },
		{ IPC_LOG, ROLE_PARENT, ROLE_SESSION },
		{ IPC_LOG, ROLE_PARENT, ROLE_PARENT },
		{ IPC_LOG, ROLE_SESSION, ROLE_AUTHD },
		{ IPC_LOG, ROLE_STORAGED, ROLE_SESSION },
		{ IPC_MBOX_RETR, ROLE_STORAGED, ROLE_SESSION },
		{ IPC_MBOX_LISTING, ROLE_SESSION, ROLE_STORAGED },
	};
	uint8_t buf[64], pl[64];
	size_t i, n, len;
	const struct ipc_type_info *ti;
	int ret;

	memset(pl, 0, sizeof(pl));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!ipc_type_allowed(bad[i].type, bad[i].from, bad[i].to));
		ti = ipc_type_info(bad[i].type);
		if (ti == NULL || ti->nfds != 0)
			continue;
		len = ti->min_len;
		n = frame(buf, bad[i].type, 0, len, pl, len);
		/* zeroes: well formed, every string field empty */
		ret = forge(bad[i].from, bad[i].to, buf, n, 0);
		if (ret != IPC_BAD)
			fprintf(stderr, "  %s from %s to %s accepted\n",
			    ipc_type_name(bad[i].type),
			    ipc_role_name(bad[i].from),
			    ipc_role_name(bad[i].to));
		CHECK(ret == IPC_BAD);
	}

	/* the same datagrams from the right role are accepted */
	ti = ipc_type_info(IPC_AUTHD_GRANT);
	n = frame(buf, IPC_AUTHD_GRANT, 0, ti->min_len, pl, ti->min_len);
	CHECK(forge(ROLE_AUTHD, ROLE_PARENT, buf, n, 0) == IPC_OK);
	ti = ipc_type_info(IPC_LOG);
	n = frame(buf, IPC_LOG, 0, ti->min_len, pl, ti->min_len);
	CHECK(forge(ROLE_STORAGED, ROLE_PARENT, buf, n, 0) == IPC_OK);

	/* the table itself */
	CHECK(ipc_type_allowed(IPC_HELLO, ROLE_PARENT, ROLE_SESSION));
	CHECK(ipc_type_allowed(IPC_HELLO, ROLE_STORAGED, ROLE_SESSION));
	CHECK(ipc_type_allowed(IPC_LOG, ROLE_AUTHD, ROLE_PARENT));
	CHECK(!ipc_type_allowed(IPC_NONE, ROLE_PARENT, ROLE_SESSION));
	CHECK(!ipc_type_allowed(IPC_TYPE_MAX, ROLE_PARENT, ROLE_SESSION));
	CHECK(!ipc_type_allowed(0xffff, ROLE_PARENT, ROLE_SESSION));
	CHECK(ipc_type_info(IPC_NONE) == NULL);
	CHECK(ipc_type_info(IPC_TYPE_MAX) == NULL);
	CHECK(ipc_type_info(0xffffffffU) == NULL);
	CHECK_STR(ipc_type_name(0xffff), "UNKNOWN");
	CHECK_STR(ipc_type_name(IPC_MBOX_FILE), "MBOX_FILE");
	CHECK_STR(ipc_role_name(ROLE_MAX), "unknown");
	CHECK_STR(ipc_role_name(ROLE_AUTHD), "authd");
	for (i = IPC_HELLO; i < IPC_TYPE_MAX; i++) {
		ti = ipc_type_info(i);
		CHECK(ti != NULL && ti->name != NULL);
		CHECK(ti->min_len <= ti->max_len);
		CHECK(ti->max_len <= IPC_MAX_PAYLOAD);
		CHECK(ti->nfds <= IPC_MAX_FDS);
	}
}

static void
test_unknown_types(void)
{
	static const unsigned int types[] = {
		IPC_NONE, IPC_TYPE_MAX, IPC_TYPE_MAX + 1, 0x100, 0x7fff,
		0xffff,
	};
	uint8_t buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = frame(buf, types[i], 0, 0, NULL, 0);
		CHECK(forge(ROLE_SESSION, ROLE_STORAGED, buf, n, 0) ==
		    IPC_BAD);
		n = frame(buf, types[i], 0, 4, "\0\0\0\0", 4);
		CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) ==
		    IPC_BAD);
	}
}

static void
test_lengths(void)
{
	static uint8_t buf[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 4096], pl[32];
	size_t n;

	memset(pl, 0, sizeof(pl));
	/* AUTH_RESULT is exactly 4 bytes */
	n = frame(buf, IPC_AUTH_RESULT, 0, 4, pl, 4);
	CHECK(forge(ROLE_AUTHD, ROLE_SESSION, buf, n, 0) == IPC_OK);
	n = frame(buf, IPC_AUTH_RESULT, 0, 3, pl, 3);
	CHECK(forge(ROLE_AUTHD, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	n = frame(buf, IPC_AUTH_RESULT, 0, 5, pl, 5);
	CHECK(forge(ROLE_AUTHD, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	n = frame(buf, IPC_AUTH_RESULT, 0, 0, pl, 0);
	CHECK(forge(ROLE_AUTHD, ROLE_SESSION, buf, n, 0) == IPC_BAD);

	/* MBOX_STAT carries nothing */
	n = frame(buf, IPC_MBOX_STAT, 0, 1, pl, 1);
	CHECK(forge(ROLE_SESSION, ROLE_STORAGED, buf, n, 0) == IPC_BAD);

	/* STORAGE_SETUP: 22 bytes minimum */
	n = frame(buf, IPC_STORAGE_SETUP, 0, 21, pl, 21);
	CHECK(forge(ROLE_PARENT, ROLE_STORAGED, buf, n, 0) == IPC_BAD);
	n = frame(buf, IPC_STORAGE_SETUP, 0, 22, pl, 22);
	CHECK(forge(ROLE_PARENT, ROLE_STORAGED, buf, n, 0) == IPC_OK);

	/* declared length differs from what arrived */
	n = frame(buf, IPC_AUTH_RESULT, 0, 4, pl, 8);
	CHECK(forge(ROLE_AUTHD, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	n = frame(buf, IPC_MBOX_STATUS, 0, 16, pl, 12);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	n = frame(buf, IPC_MBOX_STATUS, 0, 0xffffffffU, pl, 16);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	n = frame(buf, IPC_MBOX_STATUS, 0, 16 + 0x10000, pl, 16);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) == IPC_BAD);

	/* short header */
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, IPC_HDR_LEN - 1, 0) ==
	    IPC_BAD);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, 1, 0) == IPC_BAD);

	/* reserved header byte */
	n = frame(buf, IPC_AUTH_RESULT, 0, 4, pl, 4);
	buf[3] = 1;
	CHECK(forge(ROLE_AUTHD, ROLE_SESSION, buf, n, 0) == IPC_BAD);

	/* LISTING: IPC_MAX_PAYLOAD is fine, one byte more is oversized */
	memset(buf, 0, sizeof(buf));
	n = frame(buf, IPC_MBOX_LISTING, 0, IPC_MAX_PAYLOAD, NULL, 0);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf,
	    IPC_HDR_LEN + IPC_MAX_PAYLOAD, 0) == IPC_OK);
	n = frame(buf, IPC_MBOX_LISTING, 0, IPC_MAX_PAYLOAD + 1, NULL, 0);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf,
	    IPC_HDR_LEN + IPC_MAX_PAYLOAD + 1, 0) == IPC_BAD);
	n = frame(buf, IPC_MBOX_LISTING, 0, IPC_MAX_PAYLOAD, NULL, 0);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf,
	    IPC_HDR_LEN + IPC_MAX_PAYLOAD + 1, 0) == IPC_BAD);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, sizeof(buf), 0) ==
	    IPC_BAD);
	/* oversized with descriptors attached: they are closed */
	n = frame(buf, IPC_MBOX_FILE, 1, 16, NULL, 0);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, sizeof(buf), 1) ==
	    IPC_BAD);
	(void)n;
}

static void
test_descriptors(void)
{
	uint8_t buf[64], pl[32];
	size_t n;

	memset(pl, 0, sizeof(pl));
	/* an fd attached to a type that takes none */
	n = frame(buf, IPC_MBOX_STATUS, 0, 16, pl, 16);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) == IPC_OK);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 1) == IPC_BAD);
	n = frame(buf, IPC_MBOX_STATUS, 1, 16, pl, 16);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 1) == IPC_BAD);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	/* two descriptors on a type that takes none */
	n = frame(buf, IPC_AUTH_RESULT, 0, 4, pl, 4);
	CHECK(forge(ROLE_AUTHD, ROLE_SESSION, buf, n, 2) == IPC_BAD);

	/* none where one is required */
	n = frame(buf, IPC_MBOX_FILE, 1, 18, pl, 18);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 1) == IPC_OK);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	n = frame(buf, IPC_MBOX_FILE, 0, 16, pl, 16);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 0) == IPC_BAD);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 1) == IPC_BAD);
	/* two where one is required, the header agreeing or not */
	n = frame(buf, IPC_MBOX_FILE, 2, 16, pl, 16);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 2) == IPC_BAD);
	n = frame(buf, IPC_MBOX_FILE, 1, 18, pl, 18);
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, n, 2) == IPC_BAD);

	/* SESSION_CLIENT needs two; one or three are refused */
	n = frame(buf, IPC_SESSION_CLIENT, 2, 16, pl, 16);
	CHECK(forge(ROLE_PARENT, ROLE_SESSION, buf, n, 2) == IPC_OK);
	CHECK(forge(ROLE_PARENT, ROLE_SESSION, buf, n, 1) == IPC_BAD);
	CHECK(forge(ROLE_PARENT, ROLE_SESSION, buf, n, 3) == IPC_BAD);
	CHECK(forge(ROLE_PARENT, ROLE_SESSION, buf, n, 8) == IPC_BAD);
	n = frame(buf, IPC_SESSION_CLIENT, 3, 16, pl, 16);
	CHECK(forge(ROLE_PARENT, ROLE_SESSION, buf, n, 3) == IPC_BAD);

	/* descriptors on an empty datagram: not mistaken for EOF */
	CHECK(forge(ROLE_STORAGED, ROLE_SESSION, buf, 0, 1) == IPC_BAD);
}

static void
test_eof_again(void)
{
	struct ipc_chan a, b;

	CHECK(pair_hello(&a, ROLE_SESSION, &b, ROLE_STORAGED) == 0);
	CHECK(ipc_recv(&b, &r) == IPC_AGAIN);
	ipc_chan_close(&a);
	CHECK(a.fd == -1);
	CHECK(ipc_recv(&b, &r) == IPC_EOF);
	ipc_chan_close(&b);
	CHECK(ipc_recv(&b, &r) == IPC_EOF);
	ipc_msg_init(&m, IPC_MBOX_STAT, 0);
	errno = 0;
	CHECK(ipc_send(&b, &m) == -1 && errno == EBADF);

	/* EOF before HELLO */
	CHECK(pair(&a, ROLE_SESSION, &b, ROLE_STORAGED) == 0);
	ipc_chan_close(&a);
	CHECK(ipc_recv(&b, &r) == IPC_EOF);
	ipc_chan_close(&b);

	/* queued messages are read before EOF */
	CHECK(pair_hello(&a, ROLE_SESSION, &b, ROLE_STORAGED) == 0);
	ipc_msg_init(&m, IPC_MBOX_RSET, 0);
	CHECK(ipc_send(&a, &m) == 0);
	ipc_chan_close(&a);
	CHECK(ipc_recv(&b, &r) == IPC_OK && r.type == IPC_MBOX_RSET);
	CHECK(ipc_recv(&b, &r) == IPC_EOF);
	ipc_chan_close(&b);

	/* sending to a closed peer fails, without SIGPIPE */
	CHECK(pair_hello(&a, ROLE_SESSION, &b, ROLE_STORAGED) == 0);
	ipc_chan_close(&b);
	ipc_msg_init(&m, IPC_MBOX_STAT, 0);
	CHECK(ipc_send(&a, &m) == -1);
	ipc_chan_close(&a);
}

/*
 * Runs ipc_decode() on buf with `nfds' descriptors said to have arrived;
 * returns "OK" or the reason it gave.
 */
static const char *
decode_why(struct ipc_chan *c, const uint8_t *buf, size_t n, int nfds)
{
	const char *why = NULL;
	int ret;

	ipc_msg_init(&r, IPC_NONE, 0);
	r.nfds = nfds;
	ret = ipc_decode(c, buf, n, &r, &why);
	r.nfds = 0;
	if (ret == IPC_OK)
		return why == NULL ? "OK" : "OK with a reason";
	return why == NULL ? "(no reason)" : why;
}

/* ipc_decode() on crafted buffers, no socket involved. */
static void
test_decode(void)
{
	static uint8_t buf[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 16];
	struct ipc_chan c;
	uint8_t pl[32];
	size_t n;
	uint32_t u;

	memset(pl, 0, sizeof(pl));
	ipc_chan_init(&c, -1, ROLE_SESSION, ROLE_STORAGED, "decode");

	/* before HELLO, only HELLO */
	n = frame(buf, IPC_MBOX_STATUS, 0, 16, pl, 16);
	CHECK_STR(decode_why(&c, buf, n, 0), "message before HELLO");
	CHECK(!c.hello_seen);

	/* a LOG line may come first: a child's reason for never saying HELLO */
	{
		struct ipc_chan pc;
		ipc_chan_init(&pc, -1, ROLE_PARENT, ROLE_SESSION, "decode");
		ipc_msg_init(&m, IPC_LOG, 0);
		ipc_put_u32(&m, 3);
		ipc_put_str(&m, "sandbox: seccomp_load failed");
		n = frame(buf, IPC_LOG, 0, m.len, m.data, m.len);
		CHECK_STR(decode_why(&pc, buf, n, 0), "OK");
		CHECK(!pc.hello_seen);
	}

	/* HELLO checks: version, role, length */
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION + 1);
	ipc_put_u32(&m, ROLE_STORAGED);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK_STR(decode_why(&c, buf, n, 0), "protocol version mismatch");
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION);
	ipc_put_u32(&m, ROLE_AUTHD);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK_STR(decode_why(&c, buf, n, 0), "peer claims another role");
	n = frame(buf, IPC_HELLO, 0, 4, m.data, 4);
	CHECK_STR(decode_why(&c, buf, n, 0), "bad payload length");
	n = frame(buf, IPC_HELLO, 1, 8, m.data, 8);
	CHECK_STR(decode_why(&c, buf, n, 1), "wrong number of descriptors");
	CHECK(!c.hello_seen);

	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_put_u32(&m, IPC_VERSION);
	ipc_put_u32(&m, ROLE_STORAGED);
	n = frame(buf, IPC_HELLO, 0, m.len, m.data, m.len);
	CHECK_STR(decode_why(&c, buf, n, 0), "OK");
	CHECK(c.hello_seen);
	CHECK(r.type == IPC_HELLO && r.pos == 0 && r.len == 8);
	CHECK(ipc_get_u32(&r, &u) == 0 && u == IPC_VERSION);

	/* the second HELLO */
	CHECK_STR(decode_why(&c, buf, n, 0), "second HELLO");

	/* now regular messages; the session id is little-endian */
	n = frame(buf, IPC_MBOX_STATUS, 0, 16, pl, 16);
	buf[8] = 0x78; buf[9] = 0x56; buf[10] = 0x34; buf[11] = 0x12;
	CHECK_STR(decode_why(&c, buf, n, 0), "OK");
	CHECK(r.type == IPC_MBOX_STATUS && r.session == 0x12345678);
	CHECK(r.len == 16 && r.pos == 0 && r.error == 0);

	/* unknown types */
	n = frame(buf, 0, 0, 0, NULL, 0);
	CHECK_STR(decode_why(&c, buf, n, 0), "unknown message type");
	n = frame(buf, IPC_TYPE_MAX, 0, 0, NULL, 0);
	CHECK_STR(decode_why(&c, buf, n, 0), "unknown message type");
	n = frame(buf, 0xffff, 0, 0, NULL, 0);
	CHECK_STR(decode_why(&c, buf, n, 0), "unknown message type");

	/* types the peer's role may not send to ours */
	n = frame(buf, IPC_MBOX_RETR, 0, 4, pl, 4);
	CHECK_STR(decode_why(&c, buf, n, 0),
	    "message type not allowed from this peer");
	n = frame(buf, IPC_AUTH_RESULT, 0, 4, pl, 4);
	CHECK_STR(decode_why(&c, buf, n, 0),
	    "message type not allowed from this peer");
	n = frame(buf, IPC_SESSION_STORAGE_FAIL, 0, 4, pl, 4);
	CHECK_STR(decode_why(&c, buf, n, 0),
	    "message type not allowed from this peer");
	n = frame(buf, IPC_LOG, 0, 6, pl, 6);
	CHECK_STR(decode_why(&c, buf, n, 0),
	    "message type not allowed from this peer");

	/* lengths: below min, above max, declared != actual, short */
	n = frame(buf, IPC_MBOX_STATUS, 0, 15, pl, 15);
	CHECK_STR(decode_why(&c, buf, n, 0), "bad payload length");
	n = frame(buf, IPC_MBOX_STATUS, 0, 17, pl, 17);
	CHECK_STR(decode_why(&c, buf, n, 0), "bad payload length");
	n = frame(buf, IPC_MBOX_STATUS, 0, 16, pl, 12);
	CHECK_STR(decode_why(&c, buf, n, 0), "bad payload length");
	n = frame(buf, IPC_MBOX_STATUS, 0, 12, pl, 16);
	CHECK_STR(decode_why(&c, buf, n, 0), "bad payload length");
	n = frame(buf, IPC_MBOX_STATUS, 0, 0xffffffffU, pl, 16);
	CHECK_STR(decode_why(&c, buf, n, 0), "bad payload length");
	CHECK_STR(decode_why(&c, buf, 0, 0), "short header");
	CHECK_STR(decode_why(&c, buf, IPC_HDR_LEN - 1, 0), "short header");
	memset(buf, 0, sizeof(buf));
	frame(buf, IPC_MBOX_LISTING, 0, IPC_MAX_PAYLOAD + 1, NULL, 0);
	CHECK_STR(decode_why(&c, buf, IPC_HDR_LEN + IPC_MAX_PAYLOAD + 1, 0),
	    "bad payload length");
	frame(buf, IPC_MBOX_LISTING, 0, IPC_MAX_PAYLOAD, NULL, 0);
	CHECK_STR(decode_why(&c, buf, IPC_HDR_LEN + IPC_MAX_PAYLOAD, 0),
	    "OK");
	CHECK(r.len == IPC_MAX_PAYLOAD);
	frame(buf, IPC_MBOX_LISTING, 0, 7, NULL, 0);
	CHECK_STR(decode_why(&c, buf, IPC_HDR_LEN + 7, 0),
	    "bad payload length");

	/* descriptor accounting: header, table and what arrived agree */
	n = frame(buf, IPC_MBOX_FILE, 1, 18, pl, 18);
	CHECK_STR(decode_why(&c, buf, n, 1), "OK");
	CHECK_STR(decode_why(&c, buf, n, 0), "wrong number of descriptors");
	CHECK_STR(decode_why(&c, buf, n, 2), "wrong number of descriptors");
	buf[3] = 1;			/* reserved byte */
	CHECK_STR(decode_why(&c, buf, n, 1), "wrong number of descriptors");
	n = frame(buf, IPC_MBOX_FILE, 0, 16, pl, 16);
	CHECK_STR(decode_why(&c, buf, n, 0), "wrong number of descriptors");
	CHECK_STR(decode_why(&c, buf, n, 1), "wrong number of descriptors");
	n = frame(buf, IPC_MBOX_FILE, 2, 16, pl, 16);
	CHECK_STR(decode_why(&c, buf, n, 2), "wrong number of descriptors");
	n = frame(buf, IPC_MBOX_STATUS, 1, 16, pl, 16);
	CHECK_STR(decode_why(&c, buf, n, 1), "wrong number of descriptors");
	CHECK_STR(decode_why(&c, buf, n, 0), "wrong number of descriptors");
	n = frame(buf, IPC_MBOX_STATUS, 0, 16, pl, 16);
	CHECK_STR(decode_why(&c, buf, n, 1), "wrong number of descriptors");
}

static void
test_codec_numbers(void)
{
	static const uint32_t u32s[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100,
	    0x12345678, 0x7fffffff, 0x80000000, UINT32_MAX };
	static const uint64_t u64s[] = { 0, 1, 0xffffffffULL,
	    0x100000000ULL, 0x0123456789abcdefULL, INT64_MAX,
	    (uint64_t)INT64_MAX + 1, UINT64_MAX };
	uint32_t u;
	uint64_t v;
	size_t i;

	ipc_msg_init(&m, IPC_NONE, 0);
	for (i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++)
		ipc_put_u32(&m, u32s[i]);
	for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
		ipc_put_u64(&m, u64s[i]);
	CHECK(m.error == 0);
	CHECK(m.len == 4 * 10 + 8 * 8);
	for (i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++)
		CHECK(ipc_get_u32(&m, &u) == 0 && u == u32s[i]);
	for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
		CHECK(ipc_get_u64(&m, &v) == 0 && v == u64s[i]);
	CHECK(ipc_get_end(&m) == 0);
	CHECK(ipc_get_u32(&m, &u) == -1);
	CHECK(m.error);

	/* little-endian on the wire */
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_u32(&m, 0x12345678);
	ipc_put_u64(&m, 0x0102030405060708ULL);
	CHECK(memcmp(m.data, "\x78\x56\x34\x12\x08\x07\x06\x05\x04\x03\x02"
	    "\x01", 12) == 0);

	/* short reads */
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_u32(&m, 7);
	CHECK(ipc_get_u64(&m, &v) == -1);
	CHECK(m.error);
	ipc_msg_init(&m, IPC_NONE, 0);
	m.data[0] = 1;
	m.len = 3;
	CHECK(ipc_get_u32(&m, &u) == -1);

	/* an error is sticky: later gets fail even with bytes left */
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_u32(&m, 1);
	ipc_put_u32(&m, 2);
	m.error = 1;
	CHECK(ipc_get_u32(&m, &u) == -1);
	CHECK(ipc_get_end(&m) == -1);

	/* trailing bytes */
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_u32(&m, 1);
	ipc_put_u32(&m, 2);
	CHECK(ipc_get_u32(&m, &u) == 0 && u == 1);
	CHECK(ipc_get_end(&m) == -1);
	CHECK(m.error);
	ipc_msg_init(&m, IPC_NONE, 0);
	CHECK(ipc_get_end(&m) == 0);
}

static void
test_codec_strings(void)
{
	static char big[IPC_MAX_STR + 2], out[IPC_MAX_STR + 8];
	char small[8];
	uint32_t u;

	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_str(&m, "");
	ipc_put_str(&m, "abc");
	CHECK(m.len == 2 + 2 + 3);
	CHECK(memcmp(m.data, "\0\0\3\0abc", 7) == 0);
	CHECK(ipc_get_str(&m, out, sizeof(out)) == 0 && out[0] == '\0');
	CHECK(ipc_get_str(&m, out, sizeof(out)) == 0);
	CHECK_STR(out, "abc");
	CHECK(ipc_get_end(&m) == 0);

	/* exactly IPC_MAX_STR works, one more does not */
	memset(big, 's', IPC_MAX_STR);
	big[IPC_MAX_STR] = '\0';
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_str(&m, big);
	CHECK(m.error == 0 && m.len == 2 + IPC_MAX_STR);
	CHECK(ipc_get_str(&m, out, IPC_MAX_STR + 1) == 0);
	CHECK(strlen(out) == IPC_MAX_STR);
	memset(big, 's', IPC_MAX_STR + 1);
	big[IPC_MAX_STR + 1] = '\0';
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_str(&m, big);
	CHECK(m.error);
	/* and a forged length of IPC_MAX_STR + 1 is refused on reading */
	ipc_msg_init(&m, IPC_NONE, 0);
	m.data[0] = (IPC_MAX_STR + 1) & 0xff;
	m.data[1] = (IPC_MAX_STR + 1) >> 8;
	memset(m.data + 2, 's', IPC_MAX_STR + 1);
	m.len = 2 + IPC_MAX_STR + 1;
	CHECK(ipc_get_str(&m, out, sizeof(out)) == -1);
	CHECK(m.error);

	/* a NUL inside */
	ipc_msg_init(&m, IPC_NONE, 0);
	memcpy(m.data, "\3\0a\0b", 5);
	m.len = 5;
	CHECK(ipc_get_str(&m, out, sizeof(out)) == -1);
	ipc_msg_init(&m, IPC_NONE, 0);
	memcpy(m.data, "\1\0\0", 3);
	m.len = 3;
	CHECK(ipc_get_str(&m, out, sizeof(out)) == -1);

	/* longer than the destination: n must be < dstsz */
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_str(&m, "abcdefgh");
	memset(small, 'Z', sizeof(small));
	CHECK(ipc_get_str(&m, small, sizeof(small)) == -1);
	CHECK(small[0] == 'Z' && small[7] == 'Z');
	m.pos = 0;
	m.error = 0;
	CHECK(ipc_get_str(&m, out, 9) == 0);
	CHECK_STR(out, "abcdefgh");
	m.pos = 0;
	CHECK(ipc_get_str(&m, out, 0) == -1);

	/* running past the payload */
	ipc_msg_init(&m, IPC_NONE, 0);
	memcpy(m.data, "\x0a\0abc", 5);
	m.len = 5;
	CHECK(ipc_get_str(&m, out, sizeof(out)) == -1);
	ipc_msg_init(&m, IPC_NONE, 0);
	memcpy(m.data, "\xff\xff", 2);
	m.len = 2;
	CHECK(ipc_get_str(&m, out, sizeof(out)) == -1);
	ipc_msg_init(&m, IPC_NONE, 0);
	m.data[0] = 5;
	m.len = 1;
	CHECK(ipc_get_str(&m, out, sizeof(out)) == -1);
	ipc_msg_init(&m, IPC_NONE, 0);
	CHECK(ipc_get_str(&m, out, sizeof(out)) == -1);

	/* a string field then a u32 read past it */
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_str(&m, "x");
	CHECK(ipc_get_str(&m, out, sizeof(out)) == 0);
	CHECK(ipc_get_u32(&m, &u) == -1);
}

static void
test_codec_overflow(void)
{
	static char s[IPC_MAX_STR + 1];
	size_t i;

	ipc_msg_init(&m, IPC_NONE, 0);
	for (i = 0; i < IPC_MAX_PAYLOAD / 4; i++)
		ipc_put_u32(&m, (uint32_t)i);
	CHECK(m.error == 0 && m.len == IPC_MAX_PAYLOAD);
	ipc_put_u32(&m, 1);
	CHECK(m.error && m.len == IPC_MAX_PAYLOAD);

	/* a u64 with 4 bytes of room: fails, nothing half-written after */
	ipc_msg_init(&m, IPC_NONE, 0);
	for (i = 0; i < IPC_MAX_PAYLOAD / 4 - 1; i++)
		ipc_put_u32(&m, 0);
	ipc_put_u64(&m, 1);
	CHECK(m.error);

	/* strings fill the buffer; the next one overflows */
	memset(s, 'q', IPC_MAX_STR);
	s[IPC_MAX_STR] = '\0';
	ipc_msg_init(&m, IPC_NONE, 0);
	for (i = 0; i < IPC_MAX_PAYLOAD / (2 + IPC_MAX_STR); i++)
		ipc_put_str(&m, s);
	CHECK(m.error == 0);
	ipc_put_str(&m, s);
	CHECK(m.error);
	CHECK(m.len <= IPC_MAX_PAYLOAD);

	/* after an error, small puts do not sneak in */
	ipc_msg_init(&m, IPC_NONE, 0);
	ipc_put_u32(&m, 1);
	m.error = 1;
	ipc_put_u32(&m, 2);
	ipc_put_str(&m, "x");
	CHECK(m.len == 4);
}

/* Runs one bad ipc_send() in a child; returns its exit status. */
static int
send_in_child(int from, int to, struct ipc_msg *msg)
{
	struct ipc_chan a, b;
	pid_t pid;
	int st;

	if (pair_hello(&a, from, &b, to) == -1)
		return -100;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -101;
	if (pid == 0) {
		ipc_send(&a, msg);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -102;
	/* nothing reached the peer */
	if (ipc_recv(&b, &r) != IPC_AGAIN)
		st = -103;
	unpair(&a, &b);
	if (st < 0)
		return st;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
test_send_malformed(void)
{
	/* control: a good message sends fine in a child too */
	ipc_msg_init(&m, IPC_MBOX_STAT, 0);
	{
		struct ipc_chan a, b;
		pid_t pid;
		int st = -1;

		CHECK(pair_hello(&a, ROLE_SESSION, &b, ROLE_STORAGED) == 0);
		fflush(stdout);
		fflush(stderr);
		if ((pid = fork()) == 0)
			_exit(ipc_send(&a, &m) == 0 ? 0 : 2);
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK(ipc_recv(&b, &r) == IPC_OK && r.type == IPC_MBOX_STAT);
		unpair(&a, &b);
	}

	/* a role sending what it may not */
	ipc_msg_init(&m, IPC_AUTHD_GRANT, 0);
	ipc_put_str(&m, "alice@example.org");
	ipc_put_str(&m, "/var/mail/x");
	CHECK(send_in_child(ROLE_SESSION, ROLE_PARENT, &m) == 1);

	ipc_msg_init(&m, IPC_LOG, 0);
	ipc_put_u32(&m, 3);
	ipc_put_str(&m, "x");
	CHECK(send_in_child(ROLE_PARENT, ROLE_SESSION, &m) == 1);

	/* payload too short, too long */
	ipc_msg_init(&m, IPC_AUTH_RESULT, 0);
	CHECK(send_in_child(ROLE_AUTHD, ROLE_SESSION, &m) == 1);
	ipc_msg_init(&m, IPC_AUTH_RESULT, 0);
	ipc_put_u64(&m, 0);
	CHECK(send_in_child(ROLE_AUTHD, ROLE_SESSION, &m) == 1);

	/* a put that overflowed */
	ipc_msg_init(&m, IPC_AUTH_RESULT, 0);
	ipc_put_u32(&m, 0);
	m.error = 1;
	CHECK(send_in_child(ROLE_AUTHD, ROLE_SESSION, &m) == 1);

	/* descriptor count wrong */
	ipc_msg_init(&m, IPC_MBOX_FILE, 0);
	ipc_put_u32(&m, 1);
	ipc_put_u64(&m, 1);
	ipc_put_u32(&m, 0);
	CHECK(send_in_child(ROLE_STORAGED, ROLE_SESSION, &m) == 1);
	ipc_msg_init(&m, IPC_MBOX_STATUS, 0);
	ipc_put_u32(&m, 0);
	ipc_put_u32(&m, 0);
	ipc_put_u64(&m, 0);
	m.fds[0] = 0;
	m.nfds = 1;
	CHECK(send_in_child(ROLE_STORAGED, ROLE_SESSION, &m) == 1);

	/* unknown types */
	ipc_msg_init(&m, IPC_NONE, 0);
	CHECK(send_in_child(ROLE_SESSION, ROLE_STORAGED, &m) == 1);
	ipc_msg_init(&m, IPC_TYPE_MAX, 0);
	CHECK(send_in_child(ROLE_SESSION, ROLE_STORAGED, &m) == 1);
	ipc_msg_init(&m, 0xffff, 0);
	CHECK(send_in_child(ROLE_SESSION, ROLE_STORAGED, &m) == 1);
}

TEST_MAIN("ipc", test_socketpair, test_hello, test_hello_forged,
    test_roundtrip_simple, test_roundtrip_max, test_roundtrip_fds,
    test_permissions, test_unknown_types, test_lengths, test_descriptors,
    test_eof_again, test_decode, test_codec_numbers, test_codec_strings,
    test_codec_overflow, test_send_malformed)
