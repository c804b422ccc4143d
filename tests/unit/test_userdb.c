/*
 * Unit tests for authd/userdb.c: the users-file grammar, the problems it
 * reports (with line numbers, in line order), first-wins duplicates, the
 * mailbox override and lookups by canonical name.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../authd/userdb.h"
#include "test.h"
#include "util.h"

static char H[crypto_pwhash_STRBYTES];	/* a real Argon2id hash */
static char report[8192];		/* "line:why\n" for every problem */

static void
collect(void *arg, size_t line, const char *why)
{
	size_t n = strlen(report);

	(*(int *)arg)++;
	snprintf(report + n, sizeof(report) - n, "%zu:%s\n", line, why);
}

/* Parses text; returns the number of problems (also left in report). */
static int
parse(struct userdb *db, const char *text)
{
	int calls = 0, r;

	report[0] = '\0';
	r = userdb_parse(db, text, strlen(text), collect, &calls);
	CHECK(r == calls);
	return r;
}

static const char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static const char *
fmt(const char *f, ...)
{
	static char buf[4][16384];
	static int i;
	va_list ap;

	i = (i + 1) % 4;
	va_start(ap, f);
	vsnprintf(buf[i], sizeof(buf[i]), f, ap);
	va_end(ap);
	return buf[i];
}

static void
test_basic(void)
{
	struct userdb db;
	const struct userdb_entry *e;

	if (sodium_init() == -1 || crypto_pwhash_str_alg(H, "pw", 2, 1, 8192,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		CHECK(!"cannot make a test hash");
	userdb_init(&db);
	CHECK(userdb_lookup(&db, "alice@example.org") == NULL);
	CHECK(parse(&db, fmt("# users\n\n   \n\t\n"
	    "alice@example.org:%s\n"
	    "bob@example.org:!%s\n"
	    "carol@mail.example.net:%s:/srv/mail/carol\n"
	    "#dave@example.org:%s\n"
	    "erin@example.org:%s", H, H, H, H, H)) == 0);
	CHECK(report[0] == '\0');
	CHECK(db.n == 4);
	CHECK((e = userdb_lookup(&db, "alice@example.org")) != NULL);
	CHECK(e != NULL && strcmp(e->hash, H) == 0 && e->mailbox == NULL &&
	    !e->disabled && !e->bad_hash && e->line == 5);
	CHECK((e = userdb_lookup(&db, "bob@example.org")) != NULL);
	CHECK(e != NULL && e->disabled && e->hash[0] == '!');
	CHECK((e = userdb_lookup(&db, "carol@mail.example.net")) != NULL);
	CHECK(e != NULL && e->mailbox != NULL &&
	    strcmp(e->mailbox, "/srv/mail/carol") == 0);
	CHECK(userdb_lookup(&db, "dave@example.org") == NULL);
	CHECK((e = userdb_lookup(&db, "erin@example.org")) != NULL);
	CHECK(e != NULL && e->line == 9);
	/* lookups take canonical names only */
	CHECK(userdb_lookup(&db, "Alice@example.org") == NULL);
	CHECK(userdb_lookup(&db, "alice@example.or") == NULL);
	CHECK(userdb_lookup(&db, "") == NULL);
	/* file order is kept for listings */
	CHECK(strcmp(db.byline[0].name, "alice@example.org") == 0);
	CHECK(strcmp(db.byline[3].name, "erin@example.org") == 0);
	userdb_free(&db);
	CHECK(db.n == 0 && db.buf == NULL);
}

static void
test_bad_names(void)
{
	static const char *names[] = {
		"Alice@example.org", "alice@Example.org", "a/b@example.org",
		"../x@example.org", "..@example.org", "a b@example.org",
		"alice", "@example.org", "alice@", "alice@@example.org",
		"al\x01ice@example.org", "al\x7fice@example.org",
		"alice@example.org ", " alice@example.org", "%u@example.org",
		"*@example.org", "'@example.org", "al\xc3\xa9@example.org", "",
	};
	struct userdb db;
	char name[400];
	size_t i;

	userdb_init(&db);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK(parse(&db, fmt("%s:%s\n", names[i], H)) == 1);
		CHECK(strcmp(report, "1:malformed user name\n") == 0);
		CHECK(db.n == 0);
	}
	memset(name, 'a', 300);
	strlcpy(name + 300, "@example.org", sizeof(name) - 300);
	CHECK(parse(&db, fmt("%s:%s\n", name, H)) == 1);
	CHECK(db.n == 0);
	userdb_free(&db);
}

static void
test_duplicates(void)
{
	struct userdb db;
	const struct userdb_entry *e;

	userdb_init(&db);
	CHECK(parse(&db, fmt("alice@example.org:%s:/first\n"
	    "bob@example.org:%s\n"
	    "alice@example.org:%s:/second\n"
	    "alice@example.org:!x\n", H, H, H)) == 2);
	CHECK(strcmp(report, "3:duplicate user\n4:duplicate user\n") == 0);
	CHECK(db.n == 2);
	e = userdb_lookup(&db, "alice@example.org");
	CHECK(e != NULL && e->line == 1 && strcmp(e->mailbox, "/first") == 0);
	/* a first line with a bad hash still wins: its user cannot log in */
	CHECK(parse(&db, fmt("alice@example.org:nohash\n"
	    "alice@example.org:%s\n", H)) == 2);
	CHECK(strcmp(report, "1:bad hash\n2:duplicate user\n") == 0);
	e = userdb_lookup(&db, "alice@example.org");
	CHECK(e != NULL && e->bad_hash && e->line == 1);
	userdb_free(&db);
}

static void
test_long_lines(void)
{
	struct userdb db;
	char *text;

	userdb_init(&db);
	if ((text = malloc(3 * 8192)) == NULL)
		return;
	/* 4095 bytes plus the newline is the longest line */
	text[0] = '#';
	memset(text + 1, 'x', 4094);
	snprintf(text + 4095, 8192, "\nalice@example.org:%s\n", H);
	CHECK(parse(&db, text) == 0);
	CHECK(db.n == 1 && userdb_lookup(&db, "alice@example.org") != NULL);
	text[0] = '#';
	memset(text + 1, 'x', 4095);
	snprintf(text + 4096, 8192, "\nalice@example.org:%s\n", H);
	CHECK(parse(&db, text) == 1);
	CHECK(strcmp(report, "1:line too long\n") == 0);
	CHECK(db.n == 1);
	/* an over-long user line does not leak into the next one */
	memset(text, 'a', 5000);
	snprintf(text + 5000, 8192, ":%s\nbob@example.org:%s", H, H);
	CHECK(parse(&db, text) == 1);
	CHECK(strcmp(report, "1:line too long\n") == 0);
	CHECK(db.n == 1 && userdb_lookup(&db, "bob@example.org") != NULL);
	free(text);
	userdb_free(&db);
}

static void
test_fields(void)
{
	struct userdb db;
	const struct userdb_entry *e;

	userdb_init(&db);
	CHECK(parse(&db, fmt("a@example.org:%s:relative/dir\n"
	    "b@example.org:%s:\n"
	    "c@example.org:%s:/srv/../etc\n"
	    "d@example.org:%s:/srv/mail:extra\n"
	    "e@example.org\n"
	    "f@example.org:%s:/srv/mail/f\x01\n"
	    "g@example.org:%s:/srv/..mail/g\n", H, H, H, H, H, H)) == 6);
	CHECK(strcmp(report,
	    "1:mailbox must be an absolute path\n"
	    "2:mailbox must be an absolute path\n"
	    "3:mailbox path must not contain ..\n"
	    "4:bad allowed networks (prefixes such as 192.0.2.0/24 or "
	    "2001:db8::/32, comma-separated)\n"
	    "5:malformed line (expected "
	    "user@domain:hash[:mailbox[:networks]])\n"
	    "6:control character in mailbox path\n") == 0);
	CHECK(db.n == 1);
	e = userdb_lookup(&db, "g@example.org");
	CHECK(e != NULL && strcmp(e->mailbox, "/srv/..mail/g") == 0);
	CHECK(userdb_mailbox_problem("/var/mail/x") == NULL);
	CHECK(userdb_mailbox_problem("/var/mail/..") != NULL);
	CHECK(userdb_mailbox_problem("x") != NULL);
	userdb_free(&db);
}

/* The fourth field: networks the user may log in from (IPv6 has ':'). */
static void
test_networks(void)
{
	struct userdb db;
	const struct userdb_entry *e;

	userdb_init(&db);
	CHECK(parse(&db, fmt("a@example.org:%s::192.0.2.0/24,2001:db8::/32\n"
	    "b@example.org:%s:/srv/b:10.0.0.0/8\n"
	    "c@example.org:%s::\n"
	    "d@example.org:%s::10.0.0.1/8\n"
	    "e@example.org:%s::10.0.0.0/8,,::1\n", H, H, H, H, H)) == 3);
	CHECK(db.n == 2);
	e = userdb_lookup(&db, "a@example.org");
	CHECK(e != NULL && e->mailbox == NULL &&
	    strcmp(e->networks, "192.0.2.0/24,2001:db8::/32") == 0);
	e = userdb_lookup(&db, "b@example.org");
	CHECK(e != NULL && strcmp(e->mailbox, "/srv/b") == 0 &&
	    strcmp(e->networks, "10.0.0.0/8") == 0);
	CHECK(userdb_network_allowed("192.0.2.0/24,2001:db8::/32",
	    "192.0.2.77"));
	CHECK(userdb_network_allowed("192.0.2.0/24,2001:db8::/32",
	    "2001:db8:5::1"));
	CHECK(userdb_network_allowed("192.0.2.0/24", "::ffff:192.0.2.1"));
	CHECK(!userdb_network_allowed("192.0.2.0/24,2001:db8::/32",
	    "198.51.100.1"));
	CHECK(!userdb_network_allowed("192.0.2.0/24", "not an address"));
	userdb_free(&db);
}

static void
test_hashes_and_bytes(void)
{
	static const char text[] = "a@example.org:$argon2id$v=19$m=8,t=1\n"
	    "b@example.org:\n"
	    "c@example.org:garbage\n"
	    "d@example.org:!\n"
	    "e@ex\0ample.org:x\n"
	    "f@example.org:$argon2id$v=19$m=4194304,t=1,p=1$"
	    "c29tZXNhbHRzb21lc2FsdA$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n";
	struct userdb db;
	const struct userdb_entry *e;
	int calls = 0;

	userdb_init(&db);
	report[0] = '\0';
	CHECK(userdb_parse(&db, text, sizeof(text) - 1, collect, &calls) == 4);
	CHECK(strcmp(report, "1:bad hash\n2:bad hash\n3:bad hash\n"
	    "5:NUL byte in line\n") == 0);
	CHECK(db.n == 5);
	e = userdb_lookup(&db, "a@example.org");
	CHECK(e != NULL && e->bad_hash);
	e = userdb_lookup(&db, "d@example.org");
	CHECK(e != NULL && e->disabled && !e->bad_hash);
	/* well formed but out of policy: that is authd's call, not ours */
	e = userdb_lookup(&db, "f@example.org");
	CHECK(e != NULL && !e->bad_hash && strchr(e->hash, '\r') == NULL);
	/* CRLF and a missing final newline */
	CHECK(parse(&db, fmt("a@example.org:%s\r\nb@example.org:%s", H, H)) ==
	    0);
	CHECK(db.n == 2);
	/* no callback is fine */
	CHECK(userdb_parse(&db, "x\n", 2, NULL, NULL) == 1);
	CHECK(db.n == 0);
	userdb_free(&db);
}

static void
test_load_fd(void)
{
	char path[] = "/tmp/test_userdb.XXXXXX";
	struct userdb db;
	int fd, calls = 0;
	const char *text;

	userdb_init(&db);
	if ((fd = mkstemp(path)) == -1) {
		CHECK(!"mkstemp");
		return;
	}
	text = fmt("alice@example.org:%s\nBad@example.org:%s\n", H, H);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	report[0] = '\0';
	CHECK(userdb_load_fd(&db, fd, collect, &calls) == 1);
	CHECK(strcmp(report, "2:malformed user name\n") == 0);
	CHECK(userdb_lookup(&db, "alice@example.org") != NULL);
	close(fd);
	unlink(path);
	/* a directory is not a users file */
	if ((fd = open("/tmp", O_RDONLY | O_DIRECTORY)) != -1) {
		CHECK(userdb_load_fd(&db, fd, collect, &calls) == -1);
		close(fd);
	}
	/* a failed load keeps what was there */
	CHECK(userdb_lookup(&db, "alice@example.org") != NULL);
	userdb_free(&db);
}

TEST_MAIN("userdb", test_basic, test_bad_names, test_duplicates,
    test_long_lines, test_fields, test_networks, test_hashes_and_bytes,
    test_load_fd)
