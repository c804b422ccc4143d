/*
 * The audit writer's state file (audit_chain.h): 128 bytes holding the
 * chain id, seq, chain value and the current key K_{seq+1}, with a
 * checksum.  Saving writes a 0600 temporary file, syncs it, renames (or,
 * exclusively, links) it into place and syncs the directory; loading
 * refuses anything but a private regular file of the exact size and a
 * valid checksum.  The file's bytes are wiped from the stack after use.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_chain.h"
#include "util.h"

#define STATE_MAGIC	"pop3dAS1"
#define STATE_SIZE	128
#define STATE_SUM	16		/* BLAKE2b-128 of the rest */

/* -- the state file -------------------------------------------------------- */

static void
state_encode(const struct audit_chain *c, uint8_t buf[STATE_SIZE])
{
	uint8_t *p = buf;
	int i;

	memcpy(p, STATE_MAGIC, 8);
	p += 8;
	memcpy(p, c->chain_id, AUDIT_HASH_BYTES);
	p += AUDIT_HASH_BYTES;
	for (i = 7; i >= 0; i--)
		*p++ = (uint8_t)(c->seq >> (8 * i));
	memcpy(p, c->chain, AUDIT_HASH_BYTES);
	p += AUDIT_HASH_BYTES;
	memcpy(p, c->key, AUDIT_KEY_BYTES);
	p += AUDIT_KEY_BYTES;
	crypto_generichash(p, STATE_SUM, buf, STATE_SIZE - STATE_SUM, NULL, 0);
}

/* Fills c only from a well-formed state: magic, checksum, seq in range. */
static int
state_decode(struct audit_chain *c, const uint8_t buf[STATE_SIZE])
{
	uint8_t sum[STATE_SUM];
	const uint8_t *p = buf + 8 + AUDIT_HASH_BYTES;
	uint64_t seq = 0;
	int i;

	crypto_generichash(sum, sizeof(sum), buf, STATE_SIZE - STATE_SUM,
	    NULL, 0);
	if (memcmp(buf, STATE_MAGIC, 8) != 0 ||
	    crypto_verify_16(sum, buf + STATE_SIZE - STATE_SUM) != 0)
		return -1;
	for (i = 0; i < 8; i++)
		seq = (seq << 8) | *p++;
	if (seq > AUDIT_SEQ_MAX)
		return -1;
	memset(c, 0, sizeof(*c));
	memcpy(c->chain_id, buf + 8, AUDIT_HASH_BYTES);
	c->seq = seq;
	memcpy(c->chain, p, AUDIT_HASH_BYTES);
	memcpy(c->key, p + AUDIT_HASH_BYTES, AUDIT_KEY_BYTES);
	return 0;
}

/* name.tmp.RANDOM next to name. */
static int
tmp_name(const char *name, char *out, size_t size)
{
	uint8_t rnd[8];
	char hex[17];
	int n;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	n = snprintf(out, size, "%s.tmp.%s", name, hex);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* fsync of the directory holding name, so the rename survives a crash. */
static int
sync_parent(int dirfd, const char *name)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(name, '/');
	size_t n;
	int fd, r;

	if (slash == NULL)
		memcpy(dir, ".", 2);
	else {
		n = slash == name ? 1 : (size_t)(slash - name);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, name, n);
		dir[n] = '\0';
	}
	if ((fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Writes the bytes to a new file tmp (0600) and syncs it. */
static int
write_new(int dirfd, const char *tmp, const uint8_t *buf, size_t len)
{
	int fd, e;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fchmod(fd, 0600) == -1 || fd_write_all(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return close(fd);
}

int
audit_chain_state_save(const struct audit_chain *c, int dirfd,
    const char *name, int flags)
{
	uint8_t buf[STATE_SIZE];
	char tmp[PATH_MAX];
	int r, e;

	if (tmp_name(name, tmp, sizeof(tmp)) == -1)
		return -1;
	state_encode(c, buf);
	r = write_new(dirfd, tmp, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	if (r == -1)
		return -1;
	/* link() never replaces: the exclusive form for `audit init' */
	if (flags & AUDIT_STATE_EXCL)
		r = linkat(dirfd, tmp, dirfd, name, 0);
	else
		r = renameat(dirfd, tmp, dirfd, name);
	e = errno;
	if (r == -1 || (flags & AUDIT_STATE_EXCL))
		unlinkat(dirfd, tmp, 0);
	errno = e;
	if (r == -1)
		return -1;
	return sync_parent(dirfd, name);
}

static int
read_exact(int fd, uint8_t *buf, size_t len)
{
	uint8_t extra;
	ssize_t n;
	size_t got = 0;

	while (got < len) {
		if ((n = read(fd, buf + got, len - got)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != len || read(fd, &extra, 1) != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
audit_chain_state_load(struct audit_chain *c, int dirfd, const char *name)
{
	uint8_t buf[STATE_SIZE];
	struct stat st;
	int fd, r = -1, e;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_size != STATE_SIZE)
		errno = EINVAL;
	else if (st.st_mode & 077)
		errno = EPERM;		/* it holds the current key */
	else if (read_exact(fd, buf, sizeof(buf)) == 0) {
		if ((r = state_decode(c, buf)) == -1)
			errno = EINVAL;
	}
out:
	e = errno;
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	errno = e;
	return r;
}
