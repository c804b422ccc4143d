/*
 * Logging for every process: syslog or stderr in the parent, the parent
 * channel in sandboxed children.  Callers escape untrusted text with
 * str_escape() before it reaches a format; these functions never treat
 * logged data as a format string.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "util.h"

static const char	*log_ident = "pop3d";
static int		 log_stderr = 1;
static int		 log_verbose;
static struct ipc_chan	*log_chan;

void
log_init(const char *ident, int to_stderr, int verbose)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_verbose = verbose;
	/*
	 * libc loads the time zone on the first gmtime_r() or strftime()
	 * of a process; do it now, before any chroot or sandbox, so that a
	 * confined process never tries to open /etc/localtime.
	 */
	tzset();
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_to_channel(struct ipc_chan *c)
{
	log_chan = c;
}

void
log_set_verbose(int v)
{
	log_verbose = v;
}

/* Writes one finished line; `who' names the process it came from. */
void
log_emit(int prio, const char *who, const char *text)
{
	if (prio == LOG_DEBUG && !log_verbose)
		return;
	if (log_stderr) {
		time_t now = time(NULL);
		struct tm tm;

		/* not strftime(): with TZ unset, its tzset() stats the
		 * zone file again, which a confined child may not */
		if (gmtime_r(&now, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		fprintf(stderr, "%02d:%02d:%02d %s%s%s: %s\n", tm.tm_hour,
		    tm.tm_min, tm.tm_sec, log_ident, who ? " " : "",
		    who ? who : "", text);
		fflush(stderr);
	} else if (who)
		syslog(prio, "%s: %s", who, text);
	else
		syslog(prio, "%s", text);
}

static void __attribute__((format(printf, 2, 0)))
log_vwrite(int prio, const char *fmt, va_list ap, int with_errno)
{
	char line[1024];
	int saved = errno;
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno) {
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	}
	if (log_chan != NULL && log_chan->fd != -1) {
		struct ipc_msg m;

		if (prio == LOG_DEBUG && !log_verbose)
			goto out;
		ipc_msg_init(&m, IPC_LOG, 0);
		ipc_put_u32(&m, prio);
		ipc_put_str(&m, line);
		if (ipc_send(log_chan, &m) == 0)
			goto out;
	}
	log_emit(prio, NULL, line);
out:
	errno = saved;
}

#define LOG_FN(name, prio, err)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vwrite(prio, fmt, ap, err);					\
	va_end(ap);							\
}

LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
