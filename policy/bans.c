/*
 * The ban table (see bans.h) and its file: one ban a line,
 * "ADDRESS UNTIL REASON", UNTIL in seconds since the epoch, written to a
 * temporary file and renamed over the old one so that a crash leaves
 * either table whole.  A line that does not parse is skipped with a
 * warning naming it; expired bans are dropped as they are met.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bans.h"
#include "log.h"
#include "util.h"

int
bans_init(struct ban_table *t)
{
	t->n = 0;
	t->b = calloc(BANS_MAX, sizeof(*t->b));
	return t->b == NULL ? -1 : 0;
}

void
bans_free(struct ban_table *t)
{
	free(t->b);
	t->b = NULL;
	t->n = 0;
}

static ssize_t
find(const struct ban_table *t, const struct ip_addr *a)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (ip_addr_equal(&t->b[i].src, a))
			return (ssize_t)i;
	return -1;
}

/* Keeps a reason printable and on one line, for the file and the log. */
static void
clean_reason(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i < BAN_REASON_MAX - 1; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* Bans a source until `until'; a full table gives up the ban that would
 * end first. */
void
bans_add(struct ban_table *t, const struct ip_addr *a, time_t until,
    const char *reason)
{
	ssize_t i = find(t, a);
	size_t k, first = 0;

	if (i >= 0) {
		/* a second ban on a source never shortens the first */
		if (until > t->b[i].until)
			t->b[i].until = until;
		clean_reason(t->b[i].reason, reason);
		return;
	}
	if (t->n < BANS_MAX)
		i = (ssize_t)t->n++;
	else {
		for (k = 1; k < t->n; k++)
			if (t->b[k].until < t->b[first].until)
				first = k;
		i = (ssize_t)first;
	}
	t->b[i].src = *a;
	t->b[i].until = until;
	clean_reason(t->b[i].reason, reason);
}

static void
remove_at(struct ban_table *t, size_t i)
{
	t->b[i] = t->b[--t->n];
}

void
bans_expire(struct ban_table *t, time_t now)
{
	size_t i = 0;

	while (i < t->n)
		if (t->b[i].until <= now)
			remove_at(t, i);
		else
			i++;
}

/* The ban on source `a' in force at `now', or NULL. */
const struct ban *
bans_check(struct ban_table *t, const struct ip_addr *a, time_t now)
{
	ssize_t i = find(t, a);

	if (i < 0)
		return NULL;
	if (t->b[i].until <= now) {
		remove_at(t, (size_t)i);
		return NULL;
	}
	return &t->b[i];
}

int
bans_remove(struct ban_table *t, const struct ip_addr *a)
{
	ssize_t i = find(t, a);

	if (i < 0)
		return -1;
	remove_at(t, (size_t)i);
	return 0;
}

static int
write_all(FILE *f, const struct ban_table *t)
{
	char host[IP_ADDR_STRLEN];
	size_t i;

	fprintf(f, "# pop3d bans: address, until (seconds since the epoch), "
	    "reason\n");
	for (i = 0; i < t->n; i++) {
		ip_addr_str(&t->b[i].src, host, sizeof(host));
		fprintf(f, "%s %lld %s\n", host, (long long)t->b[i].until,
		    t->b[i].reason);
	}
	return fflush(f) == 0 && fsync(fileno(f)) == 0 && !ferror(f) ? 0 : -1;
}

int
bans_save(const struct ban_table *t, const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		log_warn("ban file %s", tmp);
		if (fd != -1)
			close(fd);
		return -1;
	}
	r = write_all(f, t);
	if (fclose(f) != 0 || r == -1 || rename(tmp, path) == -1) {
		log_warn("ban file %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
parse_line(char *line, struct ban *b)
{
	char *addr, *until, *reason, *end;
	struct ip_addr a;
	long long v;

	addr = line;
	if ((until = strchr(addr, ' ')) == NULL)
		return -1;
	*until++ = '\0';
	if ((reason = strchr(until, ' ')) == NULL)
		return -1;
	*reason++ = '\0';
	errno = 0;
	v = strtoll(until, &end, 10);
	if (errno != 0 || *end != '\0' || end == until || v <= 0 ||
	    until[0] == '+' || ip_addr_parse(addr, &a) == -1)
		return -1;
	ip_addr_source(&a, &b->src);
	b->until = (time_t)v;
	clean_reason(b->reason, reason);
	return 0;
}

/* Loads the bans still in force at `now'; a missing file is no bans. */
int
bans_load(struct ban_table *t, const char *path, time_t now)
{
	char line[256];
	size_t lineno = 0;
	struct ban b;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			log_warnx("ban file %s line %zu: too long", path, lineno);
			while (fgets(line, sizeof(line), f) != NULL &&
			    strchr(line, '\n') == NULL)
				;
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (parse_line(line, &b) == -1) {
			log_warnx("ban file %s line %zu: not understood, "
			    "skipped", path, lineno);
			continue;
		}
		if (b.until > now)
			bans_add(t, &b.src, b.until, b.reason);
	}
	fclose(f);
	return 0;
}
