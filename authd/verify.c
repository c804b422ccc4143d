/*
 * Worker threads for Argon2id verification.  Only this file touches
 * pthreads: a mutex-protected FIFO of waiting jobs (at most queue_max), a
 * condition variable the workers sleep on, and a list of finished jobs the
 * main thread collects after a byte on the self-pipe wakes its poll().
 * Workers never log and never touch authd's other state; they see one job
 * at a time and wipe its password as soon as the verdict is known.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "util.h"
#include "verify.h"

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wake = PTHREAD_COND_INITIALIZER;
static struct verify_job *queue_head, *queue_tail;
static unsigned int	 queued, queue_max;
static struct verify_job *done_head, *done_tail;
static int		 pipe_rd = -1, pipe_wr = -1;

static void
append(struct verify_job **head, struct verify_job **tail,
    struct verify_job *j)
{
	j->next = NULL;
	if (*tail != NULL)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static struct verify_job *
pop(struct verify_job **head, struct verify_job **tail)
{
	struct verify_job *j = *head;

	if (j != NULL) {
		*head = j->next;
		if (*head == NULL)
			*tail = NULL;
		j->next = NULL;
	}
	return j;
}

static void *
worker(void *arg)
{
	struct verify_job *j;
	ssize_t r;
	char c = 1;

	UNUSED(arg);
	for (;;) {
		pthread_mutex_lock(&lock);
		while (queue_head == NULL)
			pthread_cond_wait(&wake, &lock);
		j = pop(&queue_head, &queue_tail);
		queued--;
		pthread_mutex_unlock(&lock);

		j->match = crypto_pwhash_str_verify(j->hash, j->password,
		    j->passlen) == 0;
		sodium_memzero(j->password, sizeof(j->password));
		j->passlen = 0;

		pthread_mutex_lock(&lock);
		append(&done_head, &done_tail, j);
		pthread_mutex_unlock(&lock);
		/* a full pipe already holds a wake-up: EAGAIN is fine */
		do {
			r = write(pipe_wr, &c, 1);
		} while (r == -1 && errno == EINTR);
	}
	return NULL;
}

/*
 * Starts `workers' threads with every signal blocked (signals are the main
 * thread's business).  Returns the descriptor to poll for finished jobs.
 */
int
verify_init(unsigned int workers, unsigned int qmax)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	unsigned int i;
	int fds[2], r;

	if (pipe(fds) == -1)
		fatal("pipe");
	if (fd_set_cloexec(fds[0]) == -1 || fd_set_cloexec(fds[1]) == -1 ||
	    fd_set_nonblock(fds[0]) == -1 || fd_set_nonblock(fds[1]) == -1)
		fatal("result pipe");
	pipe_rd = fds[0];
	pipe_wr = fds[1];
	queue_max = qmax;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((r = pthread_attr_init(&attr)) != 0)
		fatalx("pthread_attr_init: %s", strerror(r));
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < workers; i++)
		if ((r = pthread_create(&tid, &attr, worker, NULL)) != 0)
			fatalx("pthread_create: %s", strerror(r));
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pipe_rd;
}

/* Queues a job; -1 (the job stays the caller's) when the queue is full. */
int
verify_submit(struct verify_job *j)
{
	int r = -1;

	pthread_mutex_lock(&lock);
	if (queued < queue_max) {
		append(&queue_head, &queue_tail, j);
		queued++;
		pthread_cond_signal(&wake);
		r = 0;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

/*
 * The next finished job, or NULL.  Drains the wake-up pipe first, so a
 * wake-up written after this call always finds its job on the next one.
 */
struct verify_job *
verify_done(void)
{
	struct verify_job *j;
	char buf[64];
	ssize_t r;

	do {
		r = read(pipe_rd, buf, sizeof(buf));
	} while (r > 0 || (r == -1 && errno == EINTR));
	pthread_mutex_lock(&lock);
	j = pop(&done_head, &done_tail);
	pthread_mutex_unlock(&lock);
	return j;
}

/* Takes a job that no worker has started out of the queue. */
struct verify_job *
verify_cancel(uint64_t ticket)
{
	struct verify_job *j, *prev = NULL;

	pthread_mutex_lock(&lock);
	for (j = queue_head; j != NULL; prev = j, j = j->next) {
		if (j->ticket != ticket)
			continue;
		if (prev != NULL)
			prev->next = j->next;
		else
			queue_head = j->next;
		if (queue_tail == j)
			queue_tail = prev;
		j->next = NULL;
		queued--;
		break;
	}
	pthread_mutex_unlock(&lock);
	return j;
}
