/*
 * Unit tests for common/config.c: config_defaults() and config_parse_buf()
 * on small in-memory files -- every keyword type (strings with their buffer
 * limits, absolute paths, ranged numbers, sizes with K/M/G, durations with
 * ms/s/m/h or plain seconds), listen lines (ports 0 and 65536, options, the
 * limit on their number), unknown keywords, missing and extra values,
 * comments, blank lines, CRLF, control bytes and NUL in a line, over-long
 * lines, number overflow and leading zeros, and the consistency checks
 * (argon2 ceilings, a listen line, a mailbox template naming the user) --
 * then config_mailbox_path() expansions (%d %n %u %%), bad escapes and
 * output-buffer overflow.  Parse errors are logged to stderr; only return
 * values and parsed fields are checked.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ipc_proto.h"
#include "util.h"
#include "test.h"

#define LISTEN	"listen 127.0.0.1 110\n"
#define KiB	1024ULL
#define MiB	(1024ULL * 1024)
#define GiB	(1024ULL * 1024 * 1024)

static struct config conf;

static int
parse_len(const char *buf, size_t len)
{
	config_free(&conf);
	config_defaults(&conf);
	return config_parse_buf(&conf, "test.conf", buf, len);
}

static int
parse(const char *buf)
{
	return parse_len(buf, strlen(buf));
}

/* Parses LISTEN followed by one more line. */
static int
parse1(const char *line)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s%s\n", LISTEN, line);
	return parse(buf);
}

static void
test_defaults(void)
{
	config_defaults(&conf);
	CHECK(conf.nlisten == 0);
	CHECK(conf.pool_size == 8);
	CHECK(conf.max_sessions == 512);
	CHECK(conf.auth_workers == 2);
	CHECK(conf.auth_queue == 128);
	CHECK(conf.max_auth_failures == 3);
	CHECK(conf.max_bad_commands == 10);
	CHECK(conf.max_messages == 200000);
	CHECK(conf.argon2_memory == 64 * MiB);
	CHECK(conf.argon2_time == 2);
	CHECK(conf.argon2_max_memory == 256 * MiB);
	CHECK(conf.argon2_max_time == 8);
	CHECK(conf.auth_fail_delay_ms == 2000);
	CHECK(conf.login_timeout_ms == 120000);
	CHECK(conf.idle_timeout_ms == 600000);
	CHECK_STR(conf.mailbox, "/var/mail/vhosts/%d/%n");
	CHECK_STR(conf.mail_owner, "_pop3mail");
	CHECK_STR(conf.session_user, "_pop3d");
	CHECK_STR(conf.auth_user, "_pop3auth");
	CHECK_STR(conf.empty_dir, "/var/empty");
	CHECK(conf.users_file[0] == '/');
	CHECK(conf.libexec_dir[0] == '/');
	CHECK(conf.hostname[0] == '\0');	/* greeting names no host */

	/* the smallest valid file: one listen line, defaults elsewhere */
	CHECK(parse(LISTEN) == 0);
	CHECK(conf.nlisten == 1);
	CHECK_STR(conf.listen[0].addr, "127.0.0.1");
	CHECK_STR(conf.listen[0].port, "110");
	CHECK(conf.listen[0].flags == 0);
	CHECK(conf.pool_size == 8);
	CHECK(conf.argon2_memory == 64 * MiB);

	/* no listen line */
	CHECK(parse("") == -1);
	CHECK(parse("pool_size 4\n") == -1);
	CHECK(parse("# nothing\n\n") == -1);
}

static void
test_strings(void)
{
	char line[600];

	CHECK(parse1("hostname mail.example.org") == 0);
	CHECK_STR(conf.hostname, "mail.example.org");
	CHECK(parse1("mail_owner vmail") == 0);
	CHECK_STR(conf.mail_owner, "vmail");
	CHECK(parse1("session_user _s") == 0);
	CHECK_STR(conf.session_user, "_s");
	CHECK(parse1("auth_user _a") == 0);
	CHECK_STR(conf.auth_user, "_a");

	/* mail_owner holds CONFIG_NAME_MAX - 1 bytes */
	memcpy(line, "mail_owner ", 11);
	memset(line + 11, 'u', CONFIG_NAME_MAX - 1);
	line[11 + CONFIG_NAME_MAX - 1] = '\0';
	CHECK(parse1(line) == 0);
	CHECK(strlen(conf.mail_owner) == CONFIG_NAME_MAX - 1);
	memset(line + 11, 'u', CONFIG_NAME_MAX);
	line[11 + CONFIG_NAME_MAX] = '\0';
	CHECK(parse1(line) == -1);

	/* hostname holds 255 bytes */
	memcpy(line, "hostname ", 9);
	memset(line + 9, 'h', 255);
	line[9 + 255] = '\0';
	CHECK(parse1(line) == 0);
	CHECK(strlen(conf.hostname) == 255);
	memset(line + 9, 'h', 256);
	line[9 + 256] = '\0';
	CHECK(parse1(line) == -1);

	/* '#' inside a word is not a comment; at a word start it is */
	CHECK(parse1("hostname a#b") == 0);
	CHECK_STR(conf.hostname, "a#b");
	CHECK(parse1("hostname a #b") == 0);
	CHECK_STR(conf.hostname, "a");
	CHECK(parse1("hostname #b") == -1);
}

static void
test_paths(void)
{
	CHECK(parse1("users /etc/pop3d/users.db") == 0);
	CHECK_STR(conf.users_file, "/etc/pop3d/users.db");
	CHECK(parse1("empty_dir /var/empty2") == 0);
	CHECK_STR(conf.empty_dir, "/var/empty2");
	CHECK(parse1("libexec_dir /usr/lib/pop3d") == 0);
	CHECK_STR(conf.libexec_dir, "/usr/lib/pop3d");
	CHECK(parse1("mailbox /srv/mail/%u") == 0);
	CHECK_STR(conf.mailbox, "/srv/mail/%u");

	CHECK(parse1("users etc/users") == -1);
	CHECK(parse1("users ./users") == -1);
	CHECK(parse1("users ~/users") == -1);
	CHECK(parse1("empty_dir var/empty") == -1);
	CHECK(parse1("libexec_dir lib") == -1);
	CHECK(parse1("mailbox mail/%u") == -1);
	CHECK(parse1("mailbox %u") == -1);
}

static void
test_numbers(void)
{
	CHECK(parse1("pool_size 0") == 0);
	CHECK(conf.pool_size == 0);
	CHECK(parse1("pool_size 1000") == 0);
	CHECK(conf.pool_size == 1000);
	CHECK(parse1("pool_size 1001") == -1);
	CHECK(parse1("max_sessions 0") == -1);
	CHECK(parse1("max_sessions 1") == 0 && conf.max_sessions == 1);
	CHECK(parse1("max_sessions 100000") == 0);
	CHECK(parse1("max_sessions 100001") == -1);
	CHECK(parse1("auth_workers 64") == 0 && conf.auth_workers == 64);
	CHECK(parse1("auth_workers 65") == -1);
	CHECK(parse1("auth_queue 100000") == 0);
	CHECK(parse1("max_auth_failures 100") == 0);
	CHECK(parse1("max_auth_failures 101") == -1);
	CHECK(parse1("max_bad_commands 1000") == 0);
	CHECK(parse1("max_bad_commands 1001") == -1);
	CHECK(parse1("max_messages 10000000") == 0);
	CHECK(parse1("max_messages 10000001") == -1);
	CHECK(parse1("argon2_time 1") == 0 && conf.argon2_time == 1);
	CHECK(parse1("argon2_time 0") == -1);

	/* not canonical decimal */
	CHECK(parse1("pool_size 08") == -1);
	CHECK(parse1("pool_size 00") == -1);
	CHECK(parse1("pool_size -1") == -1);
	CHECK(parse1("pool_size +1") == -1);
	CHECK(parse1("pool_size 0x10") == -1);
	CHECK(parse1("pool_size 1k") == -1);
	CHECK(parse1("pool_size ten") == -1);
	/* overflow, also of the 32-bit field */
	CHECK(parse1("pool_size 99999999999999999999") == -1);
	CHECK(parse1("max_sessions 4294967296") == -1);
	CHECK(parse1("max_sessions 4294967297") == -1);
	CHECK(parse1("max_messages 18446744073709551617") == -1);
}

static void
test_sizes(void)
{
	CHECK(parse1("argon2_memory 8K") == 0);
	CHECK(conf.argon2_memory == 8 * KiB);
	CHECK(parse1("argon2_memory 8192") == 0);
	CHECK(conf.argon2_memory == 8192);
	CHECK(parse1("argon2_memory 8191") == -1);
	CHECK(parse1("argon2_memory 7K") == -1);
	CHECK(parse1("argon2_memory 16k") == 0);
	CHECK(conf.argon2_memory == 16 * KiB);
	CHECK(parse1("argon2_memory 128M") == 0);
	CHECK(conf.argon2_memory == 128 * MiB);

	CHECK(parse1("argon2_max_memory 4G") == 0);
	CHECK(conf.argon2_max_memory == 4 * GiB);
	CHECK(parse1("argon2_max_memory 4096M") == 0);
	CHECK(parse1("argon2_max_memory 4194305K") == -1);
	CHECK(parse1("argon2_max_memory 5G") == -1);
	CHECK(parse1("argon2_max_memory 99999999999999999999") == -1);
	CHECK(parse1("argon2_max_memory 99999999999999999999G") == -1);
	CHECK(parse1("argon2_max_memory 17179869184G") == -1);

	CHECK(parse1("argon2_memory 64MB") == -1);
	CHECK(parse1("argon2_memory 64 M") == -1);
	CHECK(parse1("argon2_memory M") == -1);
	CHECK(parse1("argon2_memory 1T") == -1);
	CHECK(parse1("argon2_memory 064M") == -1);
	CHECK(parse1("argon2_memory 1.5G") == -1);
}

static void
test_argon2_ceilings(void)
{
	/* default ceiling is 256M */
	CHECK(parse1("argon2_memory 256M") == 0);
	CHECK(parse1("argon2_memory 257M") == -1);
	CHECK(parse1("argon2_memory 512M") == -1);
	CHECK(parse(LISTEN "argon2_memory 512M\nargon2_max_memory 1G\n") ==
	    0);
	CHECK(conf.argon2_memory == 512 * MiB);
	CHECK(parse(LISTEN "argon2_max_memory 1G\nargon2_memory 512M\n") ==
	    0);
	CHECK(parse(LISTEN "argon2_max_memory 32M\n") == -1);
	CHECK(parse(LISTEN "argon2_max_memory 64M\n") == 0);

	CHECK(parse1("argon2_time 8") == 0);
	CHECK(parse1("argon2_time 9") == -1);
	CHECK(parse(LISTEN "argon2_time 9\nargon2_max_time 9\n") == 0);
	CHECK(parse(LISTEN "argon2_max_time 1\n") == -1);
	CHECK(parse(LISTEN "argon2_max_time 65\n") == -1);
}

static void
test_durations(void)
{
	CHECK(parse1("auth_fail_delay 0") == 0);
	CHECK(conf.auth_fail_delay_ms == 0);
	CHECK(parse1("auth_fail_delay 500ms") == 0);
	CHECK(conf.auth_fail_delay_ms == 500);
	CHECK(parse1("auth_fail_delay 3") == 0);
	CHECK(conf.auth_fail_delay_ms == 3000);
	CHECK(parse1("auth_fail_delay 3s") == 0);
	CHECK(conf.auth_fail_delay_ms == 3000);
	CHECK(parse1("auth_fail_delay 1m") == 0);
	CHECK(conf.auth_fail_delay_ms == 60000);
	CHECK(parse1("auth_fail_delay 61s") == -1);
	CHECK(parse1("auth_fail_delay 60001ms") == -1);

	CHECK(parse1("login_timeout 1h") == 0);
	CHECK(conf.login_timeout_ms == 3600000);
	CHECK(parse1("login_timeout 2h") == -1);
	CHECK(parse1("login_timeout 1000ms") == 0);
	CHECK(conf.login_timeout_ms == 1000);
	CHECK(parse1("login_timeout 999ms") == -1);
	CHECK(parse1("login_timeout 0") == -1);
	CHECK(parse1("idle_timeout 24h") == 0);
	CHECK(conf.idle_timeout_ms == 86400000);
	CHECK(parse1("idle_timeout 25h") == -1);
	CHECK(parse1("idle_timeout 90m") == 0);
	CHECK(conf.idle_timeout_ms == 90 * 60000);

	CHECK(parse1("idle_timeout 1d") == -1);
	CHECK(parse1("idle_timeout 1.5h") == -1);
	CHECK(parse1("idle_timeout 10 s") == -1);
	CHECK(parse1("idle_timeout s") == -1);
	CHECK(parse1("idle_timeout 010s") == -1);
	CHECK(parse1("idle_timeout 10S") == -1);
	CHECK(parse1("idle_timeout 99999999999999999999") == -1);
	CHECK(parse1("idle_timeout 99999999999999999999ms") == -1);
}

static void
test_listen(void)
{
	char buf[4096];
	size_t o;
	int i;

	CHECK(parse("listen 127.0.0.1 110 allow-plaintext\n") == 0);
	CHECK(conf.nlisten == 1);
	CHECK(conf.listen[0].flags == LISTEN_F_PLAINTEXT_OK);
	CHECK(parse("listen * 995\nlisten ::1 1110 allow-plaintext\n") == 0);
	CHECK(conf.nlisten == 2);
	CHECK_STR(conf.listen[0].addr, "*");
	CHECK_STR(conf.listen[0].port, "995");
	CHECK(conf.listen[0].flags == 0);
	CHECK_STR(conf.listen[1].addr, "::1");
	CHECK_STR(conf.listen[1].port, "1110");
	CHECK(conf.listen[1].flags == LISTEN_F_PLAINTEXT_OK);

	CHECK(parse("listen * 1\n") == 0);
	CHECK(parse("listen * 65535\n") == 0);
	CHECK_STR(conf.listen[0].port, "65535");
	CHECK(parse("listen * 0\n") == -1);
	CHECK(parse("listen * 65536\n") == -1);
	CHECK(parse("listen * 99999999999999999999\n") == -1);
	CHECK(parse("listen * 0110\n") == -1);
	CHECK(parse("listen * -1\n") == -1);
	CHECK(parse("listen * pop3\n") == -1);
	CHECK(parse("listen *\n") == -1);
	CHECK(parse("listen\n") == -1);
	CHECK(parse("listen * 110 allow-plaintex\n") == -1);
	CHECK(parse("listen * 110 allow-plaintext bogus\n") == -1);
	CHECK(parse("listen * 110 ALLOW-PLAINTEXT\n") == -1);

	/* address buffer is 64 bytes */
	o = snprintf(buf, sizeof(buf), "listen ");
	memset(buf + o, '1', 63);
	strlcpy(buf + o + 63, " 110\n", sizeof(buf) - o - 63);
	CHECK(parse(buf) == 0);
	memset(buf + o, '1', 64);
	strlcpy(buf + o + 64, " 110\n", sizeof(buf) - o - 64);
	CHECK(parse(buf) == -1);

	/* CONFIG_MAX_LISTEN lines, then one too many */
	buf[0] = '\0';
	for (i = 0; i < CONFIG_MAX_LISTEN; i++) {
		char l[64];

		snprintf(l, sizeof(l), "listen 127.0.0.1 %d\n", 1000 + i);
		strlcat(buf, l, sizeof(buf));
	}
	CHECK(parse(buf) == 0);
	CHECK(conf.nlisten == CONFIG_MAX_LISTEN);
	CHECK_STR(conf.listen[CONFIG_MAX_LISTEN - 1].port, "1015");
	strlcat(buf, "listen 127.0.0.1 2000\n", sizeof(buf));
	CHECK(parse(buf) == -1);
	CHECK(conf.nlisten == CONFIG_MAX_LISTEN);
}

static void
test_syntax(void)
{
	CHECK(parse1("no_such_keyword 1") == -1);
	CHECK(parse1("Hostname x") == -1);
	CHECK(parse1("pool_size") == -1);
	CHECK(parse1("hostname") == -1);
	CHECK(parse1("users") == -1);
	CHECK(parse1("pool_size 1 2") == -1);
	CHECK(parse1("hostname a b") == -1);
	CHECK(parse1("users /a /b") == -1);
	CHECK(parse1("listen * 110 a b c d e f") == -1);	/* 9 words */
	CHECK(parse1("pool_size=4") == -1);

	/* comments, blank lines, indentation, tabs */
	CHECK(parse("# pop3d.conf\n\n   \n\t\n" LISTEN
	    "  # indented comment\n"
	    "\tpool_size\t4   # trailing comment\n"
	    "hostname\tmx.example.org\n"
	    "#pool_size 99\n") == 0);
	CHECK(conf.pool_size == 4);
	CHECK_STR(conf.hostname, "mx.example.org");

	/* no final newline */
	CHECK(parse("listen * 110") == 0);
	CHECK(parse(LISTEN "pool_size 5") == 0);
	CHECK(conf.pool_size == 5);

	/* CRLF line ends */
	CHECK(parse("listen 127.0.0.1 110\r\nhostname foo\r\n"
	    "pool_size 3\r\n# c\r\n\r\n") == 0);
	CHECK_STR(conf.hostname, "foo");
	CHECK(conf.pool_size == 3);
	CHECK_STR(conf.listen[0].port, "110");

	/* errors on several lines are all reported; any one fails */
	CHECK(parse(LISTEN "bogus\npool_size 4\n") == -1);
	CHECK(parse("bogus\n" LISTEN) == -1);
}

static void
test_bad_bytes(void)
{
	static const char nul[] = LISTEN "hostname a\0b\n";
	static const char nul2[] = LISTEN "\0\n";
	static const char nul3[] = LISTEN "# comment \0 hidden\n";

	CHECK(parse1("hostname a\x01" "b") == -1);
	CHECK(parse1("hostname \x1b[31mred") == -1);
	CHECK(parse1("hostname a\rb") == -1);
	CHECK(parse1("hostname ab\r\r") == -1);
	CHECK(parse1("hostname \b") == -1);
	CHECK(parse1("# comment with \x07 bell") == -1);
	CHECK(parse_len(nul, sizeof(nul) - 1) == -1);
	CHECK(parse_len(nul2, sizeof(nul2) - 1) == -1);
	CHECK(parse_len(nul3, sizeof(nul3) - 1) == -1);
	/* 8-bit bytes pass the control-byte check */
	CHECK(parse1("hostname h\xc3\xb6st") == 0);
}

static void
test_long_lines(void)
{
	static char buf[4096];
	size_t o;

	/* a 2,000-byte line */
	o = strlcpy(buf, LISTEN "hostname ", sizeof(buf));
	memset(buf + o, 'x', 2000);
	buf[o + 2000] = '\n';
	buf[o + 2001] = '\0';
	CHECK(parse(buf) == -1);

	/* a comment of 1,023 bytes fits the line buffer, 1,024 does not */
	o = strlcpy(buf, LISTEN "#", sizeof(buf));
	memset(buf + o, 'c', 1022);
	buf[o + 1022] = '\n';
	buf[o + 1023] = '\0';
	CHECK(parse(buf) == 0);
	memset(buf + o, 'c', 1023);
	buf[o + 1023] = '\n';
	buf[o + 1024] = '\0';
	CHECK(parse(buf) == -1);

	/* a long last line without newline */
	o = strlcpy(buf, LISTEN, sizeof(buf));
	memset(buf + o, '#', 3000);
	buf[o + 3000] = '\0';
	CHECK(parse(buf) == -1);
}

static void
test_mailbox_template(void)
{
	CHECK(parse1("mailbox /var/mail/%u") == 0);
	CHECK(parse1("mailbox /var/mail/%d/%n") == 0);
	CHECK(parse1("mailbox /var/mail/%n@%d") == 0);
	CHECK(parse1("mailbox /var/mail/%d/%n/%u") == 0);
	CHECK(parse1("mailbox /var/mail/%n") == -1);
	CHECK(parse1("mailbox /var/mail/%d") == -1);
	CHECK(parse1("mailbox /var/mail/shared") == -1);
	CHECK(parse1("mailbox /") == -1);

	/*
	 * "%%u" expands to a literal "%u": every user would get the same
	 * mailbox.  The check must look at escapes, not at substrings.
	 */
	CHECK(parse1("mailbox /var/mail/%%u") == -1);
	CHECK(parse1("mailbox /var/mail/%%d/%%n") == -1);
	CHECK(parse1("mailbox /var/mail/%%n%d") == -1);

	/* a template config_mailbox_path() cannot expand must not load */
	CHECK(parse1("mailbox /var/mail/%u/%x") == -1);
	CHECK(parse1("mailbox /var/mail/%u%") == -1);
}

static void
test_mailbox_path(void)
{
	char out[PATH_MAX];
	unsigned char small[64];
	const char *user = "alice@example.org";
	char local[80];
	size_t need, i;
	int intact;

	config_defaults(&conf);
	CHECK(config_mailbox_path(&conf, user, out, sizeof(out)) == 0);
	CHECK_STR(out, "/var/mail/vhosts/example.org/alice");

	strlcpy(conf.mailbox, "/m/%u", sizeof(conf.mailbox));
	CHECK(config_mailbox_path(&conf, user, out, sizeof(out)) == 0);
	CHECK_STR(out, "/m/alice@example.org");

	strlcpy(conf.mailbox, "/m/%%/%d/%n/%%u%%", sizeof(conf.mailbox));
	CHECK(config_mailbox_path(&conf, user, out, sizeof(out)) == 0);
	CHECK_STR(out, "/m/%/example.org/alice/%u%");

	strlcpy(conf.mailbox, "/m/%n%n", sizeof(conf.mailbox));
	CHECK(config_mailbox_path(&conf, "b@c.d", out, sizeof(out)) == 0);
	CHECK_STR(out, "/m/bb");

	/* bad escapes */
	strlcpy(conf.mailbox, "/m/%x", sizeof(conf.mailbox));
	CHECK(config_mailbox_path(&conf, user, out, sizeof(out)) == -1);
	strlcpy(conf.mailbox, "/m/%U", sizeof(conf.mailbox));
	CHECK(config_mailbox_path(&conf, user, out, sizeof(out)) == -1);
	strlcpy(conf.mailbox, "/m/%u%", sizeof(conf.mailbox));
	CHECK(config_mailbox_path(&conf, user, out, sizeof(out)) == -1);

	/* user names without '@', or with a local part over 64 bytes */
	strlcpy(conf.mailbox, "/m/%d/%n", sizeof(conf.mailbox));
	CHECK(config_mailbox_path(&conf, "alice", out, sizeof(out)) == -1);
	memset(local, 'l', 64);
	strlcpy(local + 64, "@x.org", sizeof(local) - 64);
	CHECK(config_mailbox_path(&conf, local, out, sizeof(out)) == 0);
	CHECK(strlen(out) == strlen("/m/x.org/") + 64);
	memset(local, 'l', 65);
	strlcpy(local + 65, "@x.org", sizeof(local) - 65);
	CHECK(config_mailbox_path(&conf, local, out, sizeof(out)) == -1);

	/* output buffer: exact fit, one short, tiny; never past outsz */
	need = strlen("/m/example.org/alice") + 1;
	for (i = 0; i <= need + 1; i++) {
		size_t j;
		int r;

		memset(small, 0xa5, sizeof(small));
		r = config_mailbox_path(&conf, user, (char *)small + 8, i);
		intact = 1;
		for (j = 0; j < 8; j++)
			if (small[j] != 0xa5)
				intact = 0;
		for (j = 8 + i; j < sizeof(small); j++)
			if (small[j] != 0xa5)
				intact = 0;
		CHECK(intact);
		CHECK(r == (i >= need ? 0 : -1));
		if (r == 0)
			CHECK_STR((char *)small + 8, "/m/example.org/alice");
	}
}

/* bsearch() over the keyword table; TLS keywords and listener options */
static void
test_keywords_and_tls(void)
{
	CHECK(config_keywords_sorted());
	CHECK(parse1("tls_protocols tlsv1.3") == 0);
	CHECK_STR(conf.tls_protocols, "tlsv1.3");
	CHECK(parse1("tls_ciphers secure") == 0);
	CHECK(parse1("tls_handshake_timeout 5s") == 0);
	CHECK(conf.tls_handshake_timeout_ms == 5000);
	CHECK(parse1("tls_ticket_lifetime 0") == 0);
	CHECK(conf.tls_ticket_lifetime_ms == 0);
	CHECK(parse1("tls_ticket_lifetime 500ms") == -1);
	CHECK(parse1("tls_ticket_lifetime 59s") == -1);
	CHECK(parse1("tls_ticket_lifetime 60s") == 0);
	CHECK(parse1("implementation pop3d") == 0);
	CHECK_STR(conf.implementation, "pop3d");
	CHECK(parse1("tls_cert relative.pem") == -1);
	/* a TLS listener without a certificate and key */
	CHECK(parse("listen 127.0.0.1 995 tls\n") == -1);
	CHECK(parse("listen 127.0.0.1 110 starttls\n") == -1);
	CHECK(parse("listen 127.0.0.1 995 tls\ntls_cert /c\n"
	    "tls_key /k\n") == 0);
	CHECK(conf.listen[0].flags == LISTEN_F_TLS);
	CHECK(parse("listen 127.0.0.1 110 starttls allow-plaintext\n"
	    "tls_cert /c\ntls_key /k\n") == 0);
	CHECK(conf.listen[0].flags ==
	    (LISTEN_F_STARTTLS | LISTEN_F_PLAINTEXT_OK));
	CHECK(parse("listen 127.0.0.1 110 starttls tls\n"
	    "tls_cert /c\ntls_key /k\n") == -1);
}

/* access lists, the listener option naming one, and per-source limits */
static void
test_access(void)
{
	const struct access_list *a;
	struct ip_addr ip;
	int rule;

	CHECK(parse("listen 127.0.0.1 110 access office\n"
	    "access office allow 10.0.0.0/8 2001:db8::/32\n"
	    "access office deny any\n") == 0);
	CHECK(conf.naccess == 1);
	CHECK((a = config_access_for(&conf, 0)) != NULL);
	CHECK(a != NULL && a->n == 3);
	CHECK(ip_addr_parse("10.1.2.3", &ip) == 0);
	CHECK(a != NULL && access_check(a, &ip, &rule) == ACCESS_ALLOW &&
	    rule == 0);
	CHECK(ip_addr_parse("192.0.2.1", &ip) == 0);
	CHECK(a != NULL && access_check(a, &ip, &rule) == ACCESS_DENY &&
	    rule == 2);
	/* "default" applies to listeners that name no list */
	CHECK(parse(LISTEN "access default deny 192.0.2.0/24\n"
	    "access default default deny\n") == 0);
	CHECK((a = config_access_for(&conf, 0)) != NULL);
	CHECK(a != NULL && a->dflt_set && a->dflt == ACCESS_DENY);
	CHECK(parse(LISTEN) == 0 && config_access_for(&conf, 0) == NULL);
	/* errors */
	CHECK(parse("listen 127.0.0.1 110 access nosuch\n") == -1);
	CHECK(parse("listen 127.0.0.1 110 access\n") == -1);
	CHECK(parse1("access office allow 10.0.0.1/8") == -1);	/* host bits */
	CHECK(parse1("access office allow 10.0.0.0/33") == -1);
	CHECK(parse1("access office permit 10.0.0.0/8") == -1);
	CHECK(parse1("access office allow") == -1);
	CHECK(parse1("access Office allow 10.0.0.0/8") == -1);
	CHECK(parse1("access office default maybe") == -1);
	CHECK(parse1("access office default allow deny") == -1);
	CHECK(parse1("max_sessions_per_ip 4") == 0 &&
	    conf.max_sessions_per_ip == 4);
	CHECK(parse1("max_connections_per_minute 60") == 0 &&
	    conf.max_connections_per_minute == 60);
	CHECK(parse1("max_sessions_per_ip -1") == -1);
	CHECK(parse1("max_connections_per_minute 1000001") == -1);
	config_free(&conf);
}

TEST_MAIN("config", test_access, test_keywords_and_tls, test_defaults, test_strings, test_paths, test_numbers,
    test_sizes, test_argon2_ceilings, test_durations, test_listen,
    test_syntax, test_bad_bytes, test_long_lines, test_mailbox_template,
    test_mailbox_path)
