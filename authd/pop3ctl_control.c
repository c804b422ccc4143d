/*
 * pop3ctl's side of the control socket: connect to the control_socket the
 * configuration names, send one request line, print the reply's lines
 * until its last one ("end", "ok" or "error: ..."), all within
 * CTL_TIMEOUT_MS so that a stuck daemon never hangs a script.  The reply
 * is printed escaped: it comes from the daemon, but a terminal should not
 * have to trust it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "pop3ctl_control.h"
#include "util.h"

#define CTL_TIMEOUT_MS	5000
#define CTL_LINE_MAX	1024			/* any one reply line */
#define CTL_REPLY_MAX	(4 * 1024 * 1024)	/* the whole reply */

enum { MORE, DONE_OK, DONE_ERROR };

/* Milliseconds left before the deadline; 0 once it has passed. */
static int
left(uint64_t deadline)
{
	uint64_t now = monotonic_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

static int __attribute__((noreturn))
timed_out(const char *path)
{
	errx(1, "no reply from pop3d at %s within %d s", path,
	    CTL_TIMEOUT_MS / 1000);
}

/* Waits until fd is ready for `events'; gives up at the deadline. */
static void
wait_fd(int fd, short events, uint64_t deadline, const char *path)
{
	struct pollfd pfd = { fd, events, 0 };
	int r;

	for (;;) {
		if ((r = poll(&pfd, 1, left(deadline))) > 0)
			return;
		if (r == 0)
			timed_out(path);
		if (errno != EINTR)
			err(1, "poll");
	}
}

/*
 * A non-blocking connect: a full backlog (EAGAIN) is retried until the
 * deadline, since pop3d closes surplus clients at once.
 */
static int
ctl_connect(const char *path, uint64_t deadline)
{
	struct sockaddr_un sun;
	int fd;

	if (path[0] == '\0')
		errx(1, "the configuration sets no control_socket");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "control_socket %s: path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		err(1, "socket");
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			err(1, "cannot reach pop3d at %s", path);
		if (left(deadline) == 0)
			timed_out(path);
		usleep(20 * 1000);
	}
	return fd;
}

static void
send_line(int fd, const char *line, uint64_t deadline, const char *path)
{
	char buf[512];
	size_t len, off = 0;
	ssize_t n;

	if ((size_t)snprintf(buf, sizeof(buf), "%s\n", line) >= sizeof(buf))
		errx(1, "request too long");
	len = strlen(buf);
	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			wait_fd(fd, POLLOUT, deadline, path);
			continue;
		}
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return;	/* refused at once: the reply says why */
		if (n == -1)
			err(1, "pop3d at %s", path);
		off += (size_t)n;
	}
}

/* One line of the reply: printed, or the end of it. */
static int
reply_line(const char *line, size_t len)
{
	char safe[CTL_LINE_MAX * 4 + 4];

	str_escape(safe, sizeof(safe), line, len);
	if (strcmp(safe, "end") == 0 || strcmp(safe, "ok") == 0)
		return DONE_OK;
	if (strncmp(safe, "error: ", 7) == 0) {
		warnx("%s", safe + 7);
		return DONE_ERROR;
	}
	if (strncmp(safe, "warning: ", 9) == 0)
		warnx("%s", safe);
	else
		printf("%s\n", safe);
	return MORE;
}

/* Reads and prints the reply; the exit status it calls for. */
static int
read_reply(int fd, uint64_t deadline, const char *path)
{
	char buf[CTL_LINE_MAX];
	size_t len = 0, total = 0, k;
	ssize_t n;
	char *nl;
	int r;

	for (;;) {
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			wait_fd(fd, POLLIN, deadline, path);
			continue;
		}
		if (n == -1)
			err(1, "pop3d at %s", path);
		if (n == 0)
			errx(1, "pop3d at %s closed the connection before the "
			    "end of its reply", path);
		len += (size_t)n;
		if ((total += (size_t)n) > CTL_REPLY_MAX)
			errx(1, "pop3d at %s: reply too long", path);
		while ((nl = memchr(buf, '\n', len)) != NULL) {
			k = (size_t)(nl - buf);
			if ((r = reply_line(buf, k)) != MORE)
				return r == DONE_OK ? 0 : 1;
			memmove(buf, nl + 1, len - k - 1);
			len -= k + 1;
		}
		if (len == sizeof(buf))
			errx(1, "pop3d at %s: reply line too long", path);
	}
}

int
ctl_request(const struct config *c, const char *line)
{
	uint64_t deadline = monotonic_ms() + CTL_TIMEOUT_MS;
	int fd, r;

	fd = ctl_connect(c->control_socket, deadline);
	send_line(fd, line, deadline, c->control_socket);
	r = read_reply(fd, deadline, c->control_socket);
	close(fd);
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	return r;
}

/*
 * The address is checked here and sent in canonical form; "ADDR/64", as
 * show bans prints an IPv6 source, is taken too.
 */
int
ctl_unban(const struct config *c, const char *arg)
{
	char buf[IP_PREFIX_STRLEN], host[IP_ADDR_STRLEN], esc[64];
	char line[16 + IP_ADDR_STRLEN];
	struct ip_addr a;
	size_t len = strlen(arg);

	if (len < sizeof(buf)) {
		memcpy(buf, arg, len + 1);
		if (len > 3 && strcmp(buf + len - 3, "/64") == 0 &&
		    strchr(buf, ':') != NULL)
			buf[len - 3] = '\0';
	}
	if (len >= sizeof(buf) || ip_addr_parse(buf, &a) == -1) {
		str_escape(esc, sizeof(esc), arg, len);
		errx(1, "not an IP address: %s", esc);
	}
	ip_addr_str(&a, host, sizeof(host));
	snprintf(line, sizeof(line), "unban %s", host);
	return ctl_request(c, line);
}
