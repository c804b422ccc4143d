/*
 * pop3ctl audit: the operator's end of the tamper-evident audit trail.
 * `audit init STATEFILE' makes a new chain, stores the writer's state
 * (which holds K_1, never K_0) in a new 0600 file and prints the
 * verification key K_0 once, for the operator to keep off the host: with
 * it, `audit verify' checks files in rotation order and prints one "ok" or
 * "FAIL file:line seq N: reason" line.  K_0 is printed at init and nowhere
 * else; it is wiped from memory (and from our argv, so that ps shows it
 * for as short a time as possible) as soon as it has been used.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_chain.h"
#include "pop3ctl_audit.h"
#include "util.h"

#define NAME_SAFE	256		/* a file name, escaped, in messages */
#define KEYFILE_MAX	256		/* bytes read from --key-file */
#define MAX_AGE_MAX	(UINT64_C(10) * 366 * 86400)	/* seconds */

struct verify_args {
	uint8_t		 k0[AUDIT_KEY_BYTES];
	struct audit_verify_opts opts;
	char		**files;
	int		 nfiles;
};

static void __attribute__((noreturn))
audit_usage(void)
{
	fprintf(stderr, "usage: pop3ctl audit init statefile\n"
	    "       pop3ctl audit verify [--max-age seconds] "
	    "[--max-unsealed n]\n"
	    "                            keyhex | --key-file file  file ...\n");
	exit(2);
}

static const char *
safe_name(const char *s)
{
	static char buf[NAME_SAFE];

	str_escape(buf, sizeof(buf), s, strlen(s));
	return buf;
}

/* -- init ---------------------------------------------------------------- */

/* Prints K_0 from a buffer we wipe, not through stdio's own buffers. */
static int
print_key(const uint8_t k0[AUDIT_KEY_BYTES], const uint8_t id[32])
{
	char key[AUDIT_HEX_LEN + 1], chain[AUDIT_HEX_LEN + 1], out[512];
	int n, r = 0;

	sodium_bin2hex(key, sizeof(key), k0, AUDIT_KEY_BYTES);
	sodium_bin2hex(chain, sizeof(chain), id, AUDIT_HASH_BYTES);
	n = snprintf(out, sizeof(out), "audit chain %s\n"
	    "verification key %s\n"
	    "Store the verification key away from this host and keep it "
	    "secret: `pop3ctl audit verify' needs it, and whoever holds it "
	    "can forge the log.  It is not stored here and cannot be "
	    "recovered.\n", chain, key);
	if (n < 0 || (size_t)n >= sizeof(out) ||
	    write(STDOUT_FILENO, out, (size_t)n) != n)
		r = -1;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(out, sizeof(out));
	return r;
}

static int
audit_init(int argc, char **argv)
{
	struct audit_chain c;
	uint8_t k0[AUDIT_KEY_BYTES];
	int e;

	if (argc != 1)
		audit_usage();
	audit_chain_init_new(&c, k0);
	if (audit_chain_state_save(&c, AT_FDCWD, argv[0],
	    AUDIT_STATE_EXCL) == -1) {
		e = errno;
		audit_chain_wipe(&c);
		sodium_memzero(k0, sizeof(k0));
		if (e == EEXIST)
			errx(1, "%s exists: not replacing an audit chain's "
			    "state", safe_name(argv[0]));
		errno = e;
		err(1, "%s", safe_name(argv[0]));
	}
	e = print_key(k0, c.chain_id);
	sodium_memzero(k0, sizeof(k0));
	audit_chain_wipe(&c);
	if (e == -1)
		err(1, "stdout (the key was not shown: remove %s and start "
		    "again)", safe_name(argv[0]));
	return 0;
}

/* -- verify -------------------------------------------------------------- */

/* Exactly 64 hex digits (either case) to K_0; the text is wiped. */
static void
parse_key(char *hex, size_t len, uint8_t k0[AUDIT_KEY_BYTES])
{
	size_t i, bin = 0;
	int ok = len == AUDIT_HEX_LEN;

	for (i = 0; ok && i < len; i++)
		if (strchr("0123456789abcdefABCDEF", hex[i]) == NULL)
			ok = 0;
	if (ok && (sodium_hex2bin(k0, AUDIT_KEY_BYTES, hex, len, NULL, &bin,
	    NULL) != 0 || bin != AUDIT_KEY_BYTES))
		ok = 0;
	sodium_memzero(hex, len);
	if (!ok) {
		fprintf(stderr, "pop3ctl: the verification key must be %d hex "
		    "digits\n", AUDIT_HEX_LEN);
		audit_usage();
	}
}

/* The key from a file (or "-" for stdin): 64 hex digits, then blanks. */
static void
read_key_file(const char *path, uint8_t k0[AUDIT_KEY_BYTES])
{
	char buf[KEYFILE_MAX];
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO :
	    open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		err(1, "%s", safe_name(path));
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) != 0)
		if (r == -1 && errno != EINTR)
			err(1, "%s", safe_name(path));
		else if (r > 0)
			n += (size_t)r;
	if (fd != STDIN_FILENO)
		close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	parse_key(buf, n, k0);
	sodium_memzero(buf, sizeof(buf));
}

static uint64_t
number_arg(char **argv, int argc, int i, uint64_t max)
{
	uint64_t v;

	if (i + 1 >= argc || parse_u64(argv[i + 1], max, &v) == -1 || v == 0)
		audit_usage();
	return v;
}

/* Options, then the key (unless --key-file), then at least one file. */
static void
parse_verify(int argc, char **argv, struct verify_args *a)
{
	const char *keyfile = NULL;
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i += 2) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strncmp(argv[i], "--", 2) != 0)
			break;
		if (strcmp(argv[i], "--max-age") == 0)
			a->opts.max_age_ms = number_arg(argv, argc, i,
			    MAX_AGE_MAX) * 1000;
		else if (strcmp(argv[i], "--max-unsealed") == 0)
			a->opts.max_unsealed = number_arg(argv, argc, i,
			    AUDIT_SEQ_MAX);
		else if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc)
			keyfile = argv[i + 1];
		else
			audit_usage();
	}
	if (keyfile == NULL) {
		if (i >= argc)
			audit_usage();
		parse_key(argv[i], strlen(argv[i]), a->k0);
		i++;
	}
	if (i >= argc)
		audit_usage();
	if (keyfile != NULL)
		read_key_file(keyfile, a->k0);
	a->files = argv + i;
	a->nfiles = argc - i;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		err(1, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
report_failure(const char *file, const struct audit_verify_result *res)
{
	char seq[32];

	if (res->bad_seq == 0)
		strlcpy(seq, "?", sizeof(seq));
	else
		snprintf(seq, sizeof(seq), "%" PRIu64, res->bad_seq);
	printf("FAIL %s:%" PRIu64 " seq %s: %s\n", safe_name(file),
	    res->bad_line, seq, res->why);
	return 1;
}

static int
report_ok(const struct audit_verify_result *res)
{
	char id[AUDIT_HEX_LEN + 1];

	sodium_bin2hex(id, sizeof(id), res->chain_id, sizeof(res->chain_id));
	printf("ok: %" PRIu64 " records, chain %s, ", res->records, id);
	if (res->have_seal)
		printf("last seal seq %" PRIu64 " at %s\n", res->seal_seq,
		    res->seal_ts);
	else
		printf("no seal\n");
	if (res->first_seq > 1)
		printf("note: the first file continues the chain from seq %"
		    PRIu64 "; earlier files were not checked\n",
		    res->first_seq - 1);
	return 0;
}

/* One file into the verifier; -1 (reported) when it does not verify. */
static int
verify_one(struct audit_verifier *v, const char *path)
{
	FILE *fp;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (fp = fdopen(fd, "r")) == NULL) {
		warn("%s", safe_name(path));
		if (fd != -1)
			close(fd);
		return -1;
	}
	audit_verify_file_begin(v);
	r = audit_verify_stream(v, fp);
	fclose(fp);
	if (r == -1)
		report_failure(path, &v->res);
	return r;
}

static int
audit_verify(int argc, char **argv)
{
	struct audit_verifier v;
	struct verify_args a;
	int i, r = 0;

	parse_verify(argc, argv, &a);
	a.opts.now_ms = now_ms();
	audit_verify_init(&v, a.k0);
	sodium_memzero(a.k0, sizeof(a.k0));
	for (i = 0; i < a.nfiles && r == 0; i++)
		r = verify_one(&v, a.files[i]);
	if (r == 0 && audit_verify_finish(&v, &a.opts) == -1)
		r = report_failure(a.files[a.nfiles - 1], &v.res);
	else if (r == 0)
		report_ok(&v.res);
	audit_verify_wipe(&v);
	return r == 0 ? 0 : 1;
}

int
ctl_audit(int argc, char **argv)
{
	if (argc < 1)
		audit_usage();
	if (strcmp(argv[0], "init") == 0)
		return audit_init(argc - 1, argv + 1);
	if (strcmp(argv[0], "verify") == 0)
		return audit_verify(argc - 1, argv + 1);
	audit_usage();
}
