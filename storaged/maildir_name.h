/*
 * Maildir file names: which names storaged accepts, the unique part that
 * gives a message its UIDL, the size hints (Dovecot's ,S=<physical> and
 * ,W=<CRLF size>) and the renames that add ":2," or record the sizes.
 * Pure string functions with no file access, so they can be unit-tested
 * and fuzzed on their own.
 */
#ifndef POP3D_MAILDIR_NAME_H
#define POP3D_MAILDIR_NAME_H

#include <stddef.h>
#include <stdint.h>

#define MAILDIR_NAME_MAX	255	/* NAME_MAX on every target */
#define MAILDIR_NAME_BUF	(MAILDIR_NAME_MAX + 1)
#define MAILDIR_UIDL_MAX	70	/* RFC 1939 section 7 */
#define MAILDIR_UIDL_BUF	(MAILDIR_UIDL_MAX + 1)
#define MAILDIR_HASH_LEN	16	/* bytes of BLAKE2b for long UIDLs */
/* Far above any real message, and 2 * MAX + 2 cannot overflow. */
#define MAILDIR_SIZE_MAX	(UINT64_C(1) << 53)

struct maildir_hints {
	int		has_size;	/* one well-formed S= */
	int		has_vsize;	/* one well-formed W= */
	uint64_t	size;		/* S=: bytes on disk */
	uint64_t	vsize;		/* W=: bytes with CRLF ends */
};

int	maildir_name_ok(const char *);
size_t	maildir_unique_len(const char *);
int	maildir_uidl(const char *, char *, size_t);
void	maildir_hints(const char *, struct maildir_hints *);
int	maildir_vsize_plausible(uint64_t, uint64_t);
int	maildir_cur_name(const char *, char *, size_t);
int	maildir_sized_name(const char *, uint64_t, uint64_t, char *, size_t);

#endif
