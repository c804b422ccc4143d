/*
 * audit_gen: writes valid audit chain files with common/audit_chain.c, so
 * that tests of `pop3ctl audit verify' (tests/authd/test_pop3ctl_audit.py)
 * need not run the audit writer.  Test-only; it prints K_0.
 *
 *   audit_gen [-n records] [-s seal_every] [-r rotate_after]
 *             [-t start_unix_seconds] [-l statefile] out1 [out2]
 *
 * out1 opens with audit.init (or audit.continue with -l), then `records'
 * auth.attempt events whose user names need escaping, with an audit.seal
 * after every seal_every of them (0: none).  With out2, the chain rotates
 * into out2 (audit.continue) after rotate_after events.  -t gives the
 * records fixed times, one second apart, instead of the clock.  -l takes
 * the chain from a state file (as `pop3ctl audit init' makes) and saves it
 * back at the end; otherwise a new chain is made and "key HEX" and
 * "chain HEX" are printed.
 */
#include <err.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_chain.h"
#include "util.h"

#define COUNT_MAX	UINT64_C(100000000)
#define TIME_MAX	UINT64_C(253402300000)	/* before year 10000 */

struct gen {
	struct audit_chain	c;
	int			fixed;		/* -t given */
	int64_t			t;
	FILE			*fp;
	const char		*path;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: audit_gen [-n records] [-s seal_every] "
	    "[-r rotate_after] [-t start] [-l statefile] out1 [out2]\n");
	exit(2);
}

static uint64_t
num(const char *s, uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, max, &v) == -1)
		usage();
	return v;
}

/* The record time: fixed and advancing with -t, else NULL (the clock). */
static const struct timespec *
when(struct gen *g, struct timespec *ts)
{
	if (!g->fixed)
		return NULL;
	ts->tv_sec = (time_t)g->t++;
	ts->tv_nsec = 250000000;
	return ts;
}

static void
put(struct gen *g, const char *line, ssize_t n)
{
	if (n <= 0)
		err(1, "audit_chain");
	if (fwrite(line, 1, (size_t)n, g->fp) != (size_t)n)
		err(1, "%s", g->path);
}

static void
open_file(struct gen *g, const char *path)
{
	char line[AUDIT_LINE_MAX + 1];
	struct timespec ts;

	if (g->fp != NULL && fclose(g->fp) != 0)
		err(1, "%s", g->path);
	if ((g->fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	g->path = path;
	put(g, line, audit_chain_file_start(&g->c, when(g, &ts), line,
	    sizeof(line)));
}

static void
event(struct gen *g, uint64_t i)
{
	char user[64], esc[256], fields[512], line[AUDIT_LINE_MAX + 1];
	struct timespec ts;
	int len;

	len = snprintf(user, sizeof(user), "user%" PRIu64 "\"\\\t\xc3\xa9\xff",
	    i);
	audit_json_str(esc, sizeof(esc), user, (size_t)len);
	snprintf(fields, sizeof(fields), "\"event\":\"auth.attempt\","
	    "\"outcome\":\"failure\",\"reason\":\"bad_credentials\","
	    "\"user_requested\":\"%s\",\"n\":%" PRIu64, esc, i);
	put(g, line, audit_chain_append_at(&g->c, fields, when(g, &ts), line,
	    sizeof(line)));
}

static void
seal(struct gen *g)
{
	char line[AUDIT_LINE_MAX + 1];
	struct timespec ts;

	put(g, line, audit_chain_seal(&g->c, when(g, &ts), line,
	    sizeof(line)));
}

static void
new_chain(struct gen *g)
{
	uint8_t k0[AUDIT_KEY_BYTES];
	char hex[AUDIT_HEX_LEN + 1];

	audit_chain_init_new(&g->c, k0);
	sodium_bin2hex(hex, sizeof(hex), k0, sizeof(k0));
	printf("key %s\n", hex);
	sodium_bin2hex(hex, sizeof(hex), g->c.chain_id, sizeof(g->c.chain_id));
	printf("chain %s\n", hex);
	sodium_memzero(k0, sizeof(k0));
}

int
main(int argc, char *argv[])
{
	uint64_t n = 20, every = 0, rotate = 0, i;
	const char *state = NULL;
	struct gen g;
	int ch;

	memset(&g, 0, sizeof(g));
	while ((ch = getopt(argc, argv, "n:s:r:t:l:")) != -1) {
		switch (ch) {
		case 'n': n = num(optarg, COUNT_MAX); break;
		case 's': every = num(optarg, COUNT_MAX); break;
		case 'r': rotate = num(optarg, COUNT_MAX); break;
		case 't': g.fixed = 1; g.t = (int64_t)num(optarg, TIME_MAX);
			  break;
		case 'l': state = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2 || (argc == 2) != (rotate > 0))
		usage();
	if (sodium_init() == -1)
		errx(1, "sodium_init");
	if (state == NULL)
		new_chain(&g);
	else if (audit_chain_state_load(&g.c, AT_FDCWD, state) == -1)
		err(1, "%s", state);
	open_file(&g, argv[0]);
	for (i = 1; i <= n; i++) {
		event(&g, i);
		if (every > 0 && i % every == 0)
			seal(&g);
		if (i == rotate)
			open_file(&g, argv[1]);
	}
	if (fclose(g.fp) != 0)
		err(1, "%s", g.path);
	if (state != NULL && audit_chain_state_save(&g.c, AT_FDCWD, state,
	    0) == -1)
		err(1, "%s", state);
	audit_chain_wipe(&g.c);
	return 0;
}
