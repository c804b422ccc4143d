/*
 * The audit writer's storage: records wait in a bounded queue until they
 * are on disk.  Each flush turns queued events into chained lines in one
 * batch, writes the batch and saves the evolved chain state once.  A write
 * that fails (disk full, file gone) is undone -- the file cut back to its
 * last whole record, the chain back to where it was -- so the trail never
 * holds a torn line or a hole in its sequence; the events stay queued and
 * are retried every second, and the parent is told, so that with `audit
 * required' it stops new logins.  Rotation swaps in a file the parent
 * created: the old file ends on a seal, the new one starts with the
 * audit.continue record that links it to the old.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_chain.h"
#include "audit_store.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

#define SEAL_RECORDS	1000	/* a seal at least this often */
#define BATCH_BYTES	(256 * 1024)
#define RETRY_MS	1000

enum item_kind { ITEM_EVENT, ITEM_SEAL, ITEM_CONTINUE };

struct item {
	enum item_kind	 kind;
	char		*fields;	/* ITEM_EVENT */
	char		*summary;
};

static char batch[BATCH_BYTES];

void
store_init(struct store *st, int file_fd, int dir_fd, const char *name,
    struct ipc_chan *parent, uint64_t rotate_size)
{
	struct stat sb;

	st->file_fd = file_fd;
	st->dir_fd = dir_fd;
	st->state_name = name;
	st->parent = parent;
	st->rotate_size = rotate_size;
	if (fstat(file_fd, &sb) == -1)
		fatal("audit file");
	st->size = sb.st_size;
	st->told = -1;
	st->cap = STORE_QUEUE_MAX;
	if ((st->q = calloc(st->cap, sizeof(*st->q))) == NULL)
		fatal("audit queue");
}

static void
tell_parent(struct store *st, int ok)
{
	struct ipc_msg m;

	if (st->told == ok)
		return;
	ipc_msg_init(&m, IPC_AUDIT_STATUS, 0);
	ipc_put_u32(&m, (uint32_t)ok);
	if (ipc_send(st->parent, &m) == 0)
		st->told = ok;
}

static struct item *
slot(struct store *st, size_t i)
{
	return &st->q[(st->head + i) % st->cap];
}

static int
push(struct store *st, enum item_kind kind, const char *fields,
    const char *summary, int front)
{
	struct item *it;

	if (st->len == st->cap) {
		if (st->lost++ == 0)
			log_warnx("AUDIT FAILURE: %zu records wait for the "
			    "disk; dropping new ones and counting them",
			    st->len);
		return -1;
	}
	if (front) {
		st->head = (st->head + st->cap - 1) % st->cap;
		it = slot(st, 0);
	} else
		it = slot(st, st->len);
	it->kind = kind;
	it->fields = it->summary = NULL;
	if (kind == ITEM_EVENT && ((it->fields = strdup(fields)) == NULL ||
	    (it->summary = strdup(summary)) == NULL)) {
		free(it->fields);
		if (front)
			st->head = (st->head + 1) % st->cap;
		st->lost++;
		return -1;
	}
	st->len++;
	return 0;
}

static void
pop(struct store *st)
{
	struct item *it = slot(st, 0);

	free(it->fields);
	free(it->summary);
	it->fields = it->summary = NULL;
	st->head = (st->head + 1) % st->cap;
	st->len--;
}

int
store_event(struct store *st, const char *fields, const char *summary)
{
	return push(st, ITEM_EVENT, fields, summary, 0);
}

/* The line of one queued item, or -1 when it cannot become one (bad
 * fields: said once and dropped, since retrying cannot help). */
static ssize_t
make_line(struct store *st, struct item *it, char *line, size_t size)
{
	ssize_t n;

	if (it->kind == ITEM_SEAL)
		n = audit_chain_seal(&st->ch, NULL, line, size);
	else if (it->kind == ITEM_CONTINUE)
		n = audit_chain_file_start(&st->ch, NULL, line, size);
	else
		n = audit_chain_append(&st->ch, it->fields, line, size);
	if (n == -1)
		log_warn("audit: cannot make a record of %s", it->kind ==
		    ITEM_EVENT ? it->summary : "a seal");
	return n;
}

/* A write failed: cut the file back to its last whole record. */
static void
undo_write(struct store *st, int err)
{
	if (ftruncate(st->file_fd, st->size) == -1) {
		log_warn("AUDIT FAILURE: cannot cut the audit file back to "
		    "%lld bytes", (long long)st->size);
		st->torn = 1;
	} else
		st->torn = 0;
	if (!st->failing)
		log_warnx("AUDIT FAILURE: cannot write the audit file: %s; "
		    "keeping records in memory and retrying", strerror(err));
	st->failing = 1;
}

/* One batch: the lines of up to BATCH_BYTES of queued items. */
static int
flush_batch(struct store *st)
{
	struct audit_chain before = st->ch;
	size_t used = 0, n = 0, i;
	uint64_t seqs[BATCH_BYTES / 64];
	ssize_t r;
	int err;

	while (n < st->len && n < sizeof(seqs) / sizeof(seqs[0]) &&
	    BATCH_BYTES - used > AUDIT_LINE_MAX + 1) {
		r = make_line(st, slot(st, n), batch + used,
		    BATCH_BYTES - used);
		seqs[n++] = r == -1 ? 0 : st->ch.seq;
		if (r != -1)
			used += (size_t)r;
		if (st->ch.unsealed >= SEAL_RECORDS && n < st->len &&
		    slot(st, n)->kind != ITEM_SEAL) {
			/* room is there: a seal line is short */
			r = audit_chain_seal(&st->ch, NULL, batch + used,
			    BATCH_BYTES - used);
			if (r != -1)
				used += (size_t)r;
		}
	}
	if (st->torn && ftruncate(st->file_fd, st->size) == 0)
		st->torn = 0;
	if (st->torn || fd_write_all(st->file_fd, batch, used) == -1) {
		err = st->torn ? EIO : errno;
		st->ch = before;
		sodium_memzero(&before, sizeof(before));
		sodium_memzero(batch, used);
		undo_write(st, err);
		return -1;
	}
	sodium_memzero(&before, sizeof(before));
	st->size += (off_t)used;
	for (i = 0; i < n; i++) {
		/* the short form, for syslog and the tools that watch it */
		if (slot(st, 0)->kind == ITEM_EVENT && seqs[i] != 0)
			log_info("audit %llu: %s", (unsigned long long)seqs[i],
			    slot(st, 0)->summary);
		pop(st);
	}
	return 0;
}

/* Records what could not be kept while the disk was failing. */
static void
note_losses(struct store *st)
{
	char fields[160], summary[96];

	if (st->lost == 0 || st->len == st->cap)
		return;
	snprintf(fields, sizeof(fields), "\"event\":\"audit.failure\","
	    "\"role\":\"audit\",\"outcome\":\"failure\",\"records_lost\":"
	    "\"%llu\"", (unsigned long long)st->lost);
	snprintf(summary, sizeof(summary), "audit.failure outcome=failure "
	    "records_lost=%llu", (unsigned long long)st->lost);
	if (push(st, ITEM_EVENT, fields, summary, 1) == 0) {
		log_warnx("AUDIT FAILURE: %llu records were lost",
		    (unsigned long long)st->lost);
		st->lost = 0;
	}
}

/*
 * Writes everything queued; 0 when the queue is empty and the state saved.
 * On failure the queue keeps what was not written and retry_at says when
 * to try again.
 */
int
store_flush(struct store *st)
{
	note_losses(st);
	while (st->len > 0)
		if (flush_batch(st) == -1)
			goto fail;
	if (st->state_stale || st->written != st->ch.seq) {
		if (audit_chain_state_save(&st->ch, st->dir_fd, st->state_name,
		    0) == -1) {
			if (!st->failing)
				log_warn("AUDIT FAILURE: cannot save the audit "
				    "chain state");
			st->state_stale = st->failing = 1;
			goto fail;
		}
		st->state_stale = 0;
		st->written = st->ch.seq;
	}
	if (st->failing)
		log_warnx("audit file writable again at record %llu",
		    (unsigned long long)st->ch.seq);
	st->failing = 0;
	tell_parent(st, 1);
	if (st->rotate_size > 0 && (uint64_t)st->size >= st->rotate_size &&
	    !st->rotate_asked)
		store_ask_rotation(st);
	return 0;
fail:
	tell_parent(st, 0);
	st->retry_at = monotonic_ms() + RETRY_MS;
	return -1;
}

void
store_ask_rotation(struct store *st)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_AUDIT_ROTATE_ASK, 0);
	if (ipc_send(st->parent, &m) == 0)
		st->rotate_asked = 1;
}

void
store_seal(struct store *st)
{
	push(st, ITEM_SEAL, NULL, NULL, 0);
	(void)store_flush(st);
}

/*
 * The parent renamed the file to `old' and hands us `fd', a new empty
 * one.  What is queued goes to the new file after its audit.continue.
 */
void
store_rotate(struct store *st, int fd, const char *old, const char *why)
{
	char fields[AUDIT_FIELDS_MAX + 1], summary[256], esc[4000];

	if (strcmp(why, "size") != 0)
		why = "signal";
	push(st, ITEM_SEAL, NULL, NULL, 0);
	(void)store_flush(st);
	/* a seal still queued now goes after the new file's first record */
	close(st->file_fd);
	st->file_fd = fd;
	st->size = 0;
	st->torn = 0;
	st->rotate_asked = 0;
	if (push(st, ITEM_CONTINUE, NULL, NULL, 1) == -1)
		fatalx("audit rotation: no room for the continuation record");
	audit_json_str(esc, sizeof(esc), old, strlen(old));
	snprintf(fields, sizeof(fields), "\"event\":\"audit.rotate\","
	    "\"role\":\"audit\",\"outcome\":\"success\",\"previous\":"
	    "\"%s\",\"reason\":\"%s\"", esc, why);
	snprintf(summary, sizeof(summary), "audit.rotate outcome=success "
	    "previous=%.180s reason=%s", esc, why);
	push(st, ITEM_EVENT, fields, summary, 0);
	(void)store_flush(st);
}
