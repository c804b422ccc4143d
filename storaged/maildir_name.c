/*
 * Maildir file names are written by delivery agents, by other mail readers
 * and by the mailbox owner, so storaged trusts none of them.  A name is
 * "unique[,key=value...][:2,flags]".  The unique part never changes when a
 * message moves from new/ to cur/, gains flags or gets its sizes recorded,
 * which makes it the UIDL.  The S= and W= hints only save reading the file;
 * anything odd about them and the caller reads the file instead.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "maildir_name.h"
#include "util.h"

#define HINT_DIGITS_MAX	20	/* UINT64_MAX has 20 digits */

static int
printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Names storaged will touch: no dot files (".", "..", editors' and other
 * programs' bookkeeping), nothing that would need escaping in a log or a
 * UIDL, nothing longer than a directory entry can be.
 */
int
maildir_name_ok(const char *name)
{
	size_t len = strnlen(name, MAILDIR_NAME_BUF);

	if (len == 0 || len > MAILDIR_NAME_MAX || name[0] == '.')
		return 0;
	return printable(name, len);
}

/* The unique part ends at the first ',' (hints) or ':' (info). */
size_t
maildir_unique_len(const char *name)
{
	return strcspn(name, ":,");
}

/*
 * The UIDL is the unique part itself when RFC 1939 allows it (1 to 70
 * printable characters), else a hash of it, so it is stable for as long as
 * the unique part is.  Two different unique parts can share a UIDL only by
 * a BLAKE2b collision.
 */
int
maildir_uidl(const char *name, char *buf, size_t bufsz)
{
	unsigned char h[MAILDIR_HASH_LEN];
	size_t ulen = maildir_unique_len(name);

	if (bufsz < MAILDIR_UIDL_BUF)
		return -1;
	if (ulen >= 1 && ulen <= MAILDIR_UIDL_MAX && printable(name, ulen)) {
		memcpy(buf, name, ulen);
		buf[ulen] = '\0';
		return 0;
	}
	if (crypto_generichash(h, sizeof(h), (const unsigned char *)name,
	    ulen, NULL, 0) != 0)
		return -1;
	sodium_bin2hex(buf, bufsz, h, sizeof(h));
	return 0;
}

/* One hint value: canonical decimal, bounded, else not usable. */
static int
hint_value(const char *s, size_t len, uint64_t *v)
{
	char num[HINT_DIGITS_MAX + 1];

	if (len == 0 || len > HINT_DIGITS_MAX)
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	return parse_u64(num, MAILDIR_SIZE_MAX, v);
}

/*
 * Fills *h from the ",S=" and ",W=" fields between the unique part and the
 * ':'.  A hint given twice counts as malformed even when both agree: the
 * name was not written by anything we know, so the file is read instead.
 */
void
maildir_hints(const char *name, struct maildir_hints *h)
{
	size_t base = strcspn(name, ":"), pos = maildir_unique_len(name);
	int nsize = 0, nvsize = 0, badsize = 0, badvsize = 0;

	memset(h, 0, sizeof(*h));
	while (pos < base && name[pos] == ',') {
		size_t fs = pos + 1, fe = fs + strcspn(name + fs, ",:");

		if (fe > base)
			fe = base;
		if (fe - fs >= 2 && name[fs] == 'S' && name[fs + 1] == '=') {
			nsize++;
			if (hint_value(name + fs + 2, fe - fs - 2,
			    &h->size) == -1)
				badsize = 1;
		} else if (fe - fs >= 2 && name[fs] == 'W' &&
		    name[fs + 1] == '=') {
			nvsize++;
			if (hint_value(name + fs + 2, fe - fs - 2,
			    &h->vsize) == -1)
				badvsize = 1;
		}
		pos = fe;
	}
	h->has_size = nsize == 1 && !badsize;
	h->has_vsize = nvsize == 1 && !badvsize;
	if (!h->has_size)
		h->size = 0;
	if (!h->has_vsize)
		h->vsize = 0;
}

/*
 * CRLF conversion only adds bytes: at most one CR per byte plus a final
 * CRLF, and an empty file stays empty.  A W= outside that range is a lie.
 */
int
maildir_vsize_plausible(uint64_t size, uint64_t vsize)
{
	if (size > MAILDIR_SIZE_MAX)
		return 0;
	if (size == 0)
		return vsize == 0;
	return vsize >= size && vsize <= 2 * size + 2;
}

/* Appends len bytes to buf at *off; -1 once it no longer fits. */
static int
append(char *buf, size_t bufsz, size_t *off, const char *s, size_t len)
{
	if (len >= bufsz - *off)
		return -1;
	memcpy(buf + *off, s, len);
	*off += len;
	buf[*off] = '\0';
	return 0;
}

/* The name a message from new/ gets in cur/: no flags yet, ":2,". */
int
maildir_cur_name(const char *name, char *buf, size_t bufsz)
{
	size_t off = 0;

	if (bufsz == 0)
		return -1;
	buf[0] = '\0';
	if (append(buf, bufsz, &off, name, strlen(name)) == -1)
		return -1;
	if (strchr(name, ':') == NULL &&
	    append(buf, bufsz, &off, ":2,", 3) == -1)
		return -1;
	return off > MAILDIR_NAME_MAX ? -1 : 0;
}

/*
 * The same name with ",S=<size>,W=<vsize>" just before the ':' part, any
 * earlier S= and W= fields dropped and every other field kept in order.
 */
int
maildir_sized_name(const char *name, uint64_t size, uint64_t vsize,
    char *buf, size_t bufsz)
{
	size_t base = strcspn(name, ":"), pos = maildir_unique_len(name);
	size_t off = 0;
	char hints[64];
	int n;

	if (bufsz == 0)
		return -1;
	buf[0] = '\0';
	if (pos > base)
		pos = base;
	if (append(buf, bufsz, &off, name, pos) == -1)
		return -1;
	while (pos < base && name[pos] == ',') {
		size_t fs = pos + 1, fe = fs + strcspn(name + fs, ",:");

		if (fe > base)
			fe = base;
		if (!(fe - fs >= 2 && (name[fs] == 'S' || name[fs] == 'W') &&
		    name[fs + 1] == '=') &&
		    append(buf, bufsz, &off, name + pos, fe - pos) == -1)
			return -1;
		pos = fe;
	}
	n = snprintf(hints, sizeof(hints), ",S=%llu,W=%llu",
	    (unsigned long long)size, (unsigned long long)vsize);
	if (n < 0 || (size_t)n >= sizeof(hints) ||
	    append(buf, bufsz, &off, hints, n) == -1 ||
	    append(buf, bufsz, &off, name + base, strlen(name + base)) == -1)
		return -1;
	return off > MAILDIR_NAME_MAX ? -1 : 0;
}
