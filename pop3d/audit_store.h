/* The audit writer's queue, file and rotation (audit_store.c). */
#ifndef POP3D_AUDIT_STORE_H
#define POP3D_AUDIT_STORE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"
#include "ipc.h"

#define STORE_QUEUE_MAX	65536	/* records held while the disk fails */

struct item;

struct store {
	struct audit_chain	 ch;
	int			 file_fd;	/* O_APPEND */
	int			 dir_fd;	/* of the chain state */
	const char		*state_name;
	struct ipc_chan		*parent;
	off_t			 size;		/* ends on a whole record */
	uint64_t		 written;	/* seq the saved state has */
	uint64_t		 rotate_size;
	int			 rotate_asked;
	int			 failing, state_stale, torn;
	int			 told;		/* status the parent has */
	uint64_t		 retry_at;
	uint64_t		 lost;		/* dropped: queue was full */
	struct item		*q;
	size_t			 head, len, cap;
};

void	store_init(struct store *, int, int, const char *,
	    struct ipc_chan *, uint64_t);
int	store_event(struct store *, const char *, const char *);
int	store_flush(struct store *);
void	store_seal(struct store *);
void	store_rotate(struct store *, int, const char *, const char *);
void	store_ask_rotation(struct store *);

#endif
