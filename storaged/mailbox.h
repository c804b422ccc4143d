/*
 * The mailbox as storaged serves it to one POP3 session: a numbered list of
 * messages fixed when the mailbox is opened, each with its UIDL, its size
 * as POP3 sends it and a deleted mark that only mailbox_expunge() (the
 * UPDATE state) turns into an unlink.  mailbox_maildir.c is the Maildir
 * back end; every file access goes through directory descriptors, so the
 * same code runs chrooted into the mailbox or, in development mode, not.
 * Functions that answer the session return an enum mbox_status code.
 */
#ifndef POP3D_MAILBOX_H
#define POP3D_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

struct mbox_msg {
	char		*name;		/* file name in cur/ */
	char		*uidl;		/* same allocation as name */
	size_t		 ulen;		/* length of its unique part */
	uint64_t	 size;		/* bytes on disk */
	uint64_t	 octets;	/* bytes as sent, CRLF line ends */
	int		 deleted;
	int		 expunged;	/* UPDATE removed it */
};

struct mailbox {
	int		 curfd;		/* cur/; -1: no mailbox */
	struct mbox_msg	*msgs;
	uint32_t	 count;
	size_t		 cap;
	uint64_t	 octets;	/* all messages */
	uint32_t	 ndeleted;
	uint64_t	 deleted_octets;
};

void	mailbox_init(struct mailbox *);
void	mailbox_free(struct mailbox *);
int	mailbox_scan(struct mailbox *, int, uint32_t, uint32_t *);
const struct mbox_msg *mailbox_msg(const struct mailbox *, uint32_t);
int	mailbox_lookup(const struct mailbox *, uint32_t);
int	mailbox_open_msg(struct mailbox *, uint32_t, int *);
int	mailbox_mark(struct mailbox *, uint32_t);
void	mailbox_unmark_all(struct mailbox *);
int	mailbox_expunge(struct mailbox *, uint32_t *);

#endif
