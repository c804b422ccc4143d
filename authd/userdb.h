/*
 * The users file: one `user@domain:PHC[:mailbox]' line per account, read
 * whole into memory and looked up by canonical name.  authd, pop3ctl and the
 * unit tests share this parser, so `pop3ctl check' reports exactly the lines
 * authd would skip.
 */
#ifndef POP3D_USERDB_H
#define POP3D_USERDB_H

#include <stddef.h>

#define USERDB_LINE_MAX		4096	/* bytes, with the newline */
#define USERDB_MAX_SIZE		(64 * 1024 * 1024)
#define USERDB_MAILBOX_MAX	1024	/* fits one IPC string */

struct userdb_entry {
	const char	*name;		/* canonical user@domain */
	const char	*hash;		/* PHC string, or '!...' */
	const char	*mailbox;	/* absolute, or NULL: template */
	const char	*networks;	/* "prefix,prefix", or NULL: any */
	size_t		 line;
	int		 disabled;	/* hash starts with '!' */
	int		 bad_hash;	/* kept so authd can say why */
};

struct userdb {
	char			*buf;	/* the file, split in place */
	size_t			 buflen;
	struct userdb_entry	*ent;	/* sorted by name */
	size_t			 n;
	struct userdb_entry	*byline; /* the same, in file order */
};

/* Called for every problem, in line order. */
typedef void (*userdb_error_cb)(void *, size_t, const char *);

void	userdb_init(struct userdb *);
int	userdb_parse(struct userdb *, const char *, size_t, userdb_error_cb,
	    void *);
int	userdb_read_fd(int, char **, size_t *);
int	userdb_load_fd(struct userdb *, int, userdb_error_cb, void *);
const struct userdb_entry *
	userdb_lookup(const struct userdb *, const char *);
void	userdb_free(struct userdb *);
const char *
	userdb_mailbox_problem(const char *);
int	userdb_networks_ok(const char *, char *, size_t);
int	userdb_network_allowed(const char *, const char *);

#endif
