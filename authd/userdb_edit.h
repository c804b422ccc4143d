/*
 * Changing the users file safely, for pop3ctl: an exclusive lock on
 * `<users>.lock' serialises editors, the new contents go to a temporary file
 * in the same directory that is synced and renamed over the old one, so a
 * reader (authd) sees the old file or the new one, never half of either.
 * The line edits work on the raw text and keep comments and every line they
 * do not touch byte for byte.
 */
#ifndef POP3D_USERDB_EDIT_H
#define POP3D_USERDB_EDIT_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

struct userdb_edit {
	char	 path[PATH_MAX];
	int	 lockfd;
	char	*old;		/* the contents; NULL: no file yet */
	size_t	 oldlen;
	mode_t	 mode;		/* what the new file gets */
	uid_t	 uid;
	gid_t	 gid;
	char	 err[PATH_MAX + 128];
};

int	userdb_edit_begin(struct userdb_edit *, const char *, gid_t);
int	userdb_edit_commit(struct userdb_edit *, const char *, size_t);
void	userdb_edit_end(struct userdb_edit *);

int	userdb_edit_append(const char *, size_t, const char *, char **,
	    size_t *);
int	userdb_edit_remove(const char *, size_t, const char *, char **,
	    size_t *);
int	userdb_edit_sethash(const char *, size_t, const char *, const char *,
	    char **, size_t *);
void	userdb_edit_free(char *, size_t);

#endif
