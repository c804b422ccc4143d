/*
 * Small utilities shared by every process.  Numbers that come from outside
 * (configuration, protocol arguments, file names) go through parse_u64(),
 * which accepts only canonical decimal: no sign, no leading zeros, no
 * whitespace, nothing past the digits, and nothing above the caller's bound.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
fd_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int
fd_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Puts fd at number `to' (clearing close-on-exec), closing the original. */
int
fd_move(int fd, int to)
{
	if (fd == to) {
		int fl = fcntl(fd, F_GETFD);

		return fl == -1 ? -1 : fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	}
	if (dup2(fd, to) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * Whether s (n bytes) holds only the base64 alphabet, with at most two
 * '=' and only at the end.  libsodium 1.0.18's decoder reads bytes as
 * plain (signed) chars and so takes 0x80-0xff for '/': this is checked
 * first, so that base64 is refused exactly when it is not base64.
 */
int
b64_chars_ok(const char *s, size_t n)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, pad = 0;

	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (s[i] == '\0' || strchr(alpha, s[i]) == NULL)
			return 0;
	return 1;
}

/* Writes all of buf, through short writes and EINTR; -1 with errno. */
int
fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The command line every child role takes from the parent:
 * [-v] [-f file].  Anything else is a usage error.
 */
void
role_getopt(int argc, char *argv[], const char *name, const char **conffile,
    int *verbose)
{
	int ch;

	while ((ch = getopt(argc, argv, "f:v")) != -1) {
		switch (ch) {
		case 'f':
			*conffile = optarg;
			break;
		case 'v':
			*verbose = 1;
			break;
		default:
			errx(1, "usage: %s [-v] -f file", name);
		}
	}
	if (optind != argc)
		errx(1, "usage: %s [-v] -f file", name);
}

/* closefrom(3): glibc 2.34+ and OpenBSD; one close_range() on Linux. */
void
fd_close_from(int lowfd)
{
	closefrom(lowfd);
}

int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (s == NULL || *s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (p = s; *p != '\0'; p++) {
		unsigned int d;

		if (*p < '0' || *p > '9')
			return -1;
		d = *p - '0';
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, max, &v) == -1)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Splits "123M" into a number and a one-letter unit. */
static int
split_unit(const char *s, char *num, size_t numsz, const char **unit)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n >= numsz)
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	*unit = s + n;
	return 0;
}

/* Byte counts: plain, or with K, M or G (powers of 1024). */
int
parse_size(const char *s, uint64_t *out)
{
	char num[24];
	const char *unit;
	uint64_t v, mul = 1;

	if (split_unit(s, num, sizeof(num), &unit) == -1)
		return -1;
	if (strcmp(unit, "K") == 0 || strcmp(unit, "k") == 0)
		mul = 1024;
	else if (strcmp(unit, "M") == 0 || strcmp(unit, "m") == 0)
		mul = 1024 * 1024;
	else if (strcmp(unit, "G") == 0 || strcmp(unit, "g") == 0)
		mul = 1024ULL * 1024 * 1024;
	else if (*unit != '\0')
		return -1;
	if (parse_u64(num, UINT64_MAX / mul, &v) == -1)
		return -1;
	*out = v * mul;
	return 0;
}

/* Durations: plain seconds, or with ms, s, m or h. */
int
parse_duration_ms(const char *s, uint64_t *out)
{
	char num[24];
	const char *unit;
	uint64_t v, mul = 1000;

	if (split_unit(s, num, sizeof(num), &unit) == -1)
		return -1;
	if (strcmp(unit, "ms") == 0)
		mul = 1;
	else if (strcmp(unit, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(unit, "h") == 0)
		mul = 3600 * 1000;
	else if (*unit != '\0' && strcmp(unit, "s") != 0)
		return -1;
	if (parse_u64(num, (UINT64_C(1) << 40) / mul, &v) == -1)
		return -1;
	*out = v * mul;
	return 0;
}

uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Makes untrusted bytes safe for a log line: printable ASCII stays, the
 * backslash and everything else become \xNN.  Always NUL-terminates;
 * truncates (marking it with "...") rather than overflow.
 */
size_t
str_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (dstsz == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = src[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > dstsz) {
			if (o + 4 <= dstsz) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1)
			dst[o++] = c;
		else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

#ifdef NEED_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t n = strlen(src);

	if (dsize != 0) {
		size_t c = n < dsize - 1 ? n : dsize - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t
strlcat(char *dst, const char *src, size_t dsize)
{
	size_t d = strnlen(dst, dsize);

	if (d == dsize)
		return d + strlen(src);
	return d + strlcpy(dst + d, src, dsize - d);
}
#endif
