/*
 * The Argon2id workers of authd.  The main thread queues jobs (a stored or
 * dummy hash and a password); a fixed number of worker threads run
 * crypto_pwhash_str_verify() on them and hand each finished job back
 * through a self-pipe the main loop polls.  The queue is bounded, so a
 * flood of logins costs at most workers x Argon2 memory, and a job that
 * finds the queue full is refused at once.
 */
#ifndef POP3D_VERIFY_H
#define POP3D_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "hashpolicy.h"
#include "ipc_proto.h"

struct verify_job {
	struct verify_job	*next;		/* verify.c's queue link */
	uint64_t		 ticket;	/* the caller's id for it */
	/* read by a worker; the password is wiped once verified */
	char			 hash[HASH_PHC_MAX + 1];
	char			 password[IPC_MAX_STR + 1];
	size_t			 passlen;
	/* set by the worker */
	int			 match;
};

int	verify_init(unsigned int, unsigned int);
int	verify_submit(struct verify_job *);
struct verify_job *
	verify_done(void);
struct verify_job *
	verify_cancel(uint64_t);

#endif
