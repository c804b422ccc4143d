/*
 * pop3d.conf: one keyword and its values per line, '#' starts a comment.
 * Every process parses the same file with the same code (children before
 * they drop privileges), so the parent's -n check is the children's check
 * too.  Defaults are in config_defaults(); docs/pop3d.conf.5 lists them.
 */
#ifndef POP3D_CONFIG_H
#define POP3D_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "access.h"

#define CONFIG_MAX_LISTEN	16
#define CONFIG_MAX_SIZE		(256 * 1024)	/* bytes of config file */
#define CONFIG_NAME_MAX		64		/* user and host names */
#define CONFIG_MAX_ACCESS	16		/* named access lists */
#define CONFIG_MAX_DECOYS	32		/* decoy_users names */

struct listen_conf {
	char		addr[64];	/* numeric IPv4 or IPv6, or "*" */
	char		port[8];
	uint32_t	flags;		/* LISTEN_F_* */
	char		access[32];	/* access list; empty: "default" */
	char		proxy[32];	/* LISTEN_F_PROXY: trusted proxies */
};

struct config {
	char		path[PATH_MAX];

	struct listen_conf listen[CONFIG_MAX_LISTEN];
	int		nlisten;

	char		users_file[PATH_MAX];
	char		mailbox[PATH_MAX];	/* template: %d %n %u %% */
	char		mail_owner[CONFIG_NAME_MAX];
	char		session_user[CONFIG_NAME_MAX];
	char		auth_user[CONFIG_NAME_MAX];
	char		empty_dir[PATH_MAX];
	char		libexec_dir[PATH_MAX];
	char		hostname[256];		/* greeting; empty: none */

	uint32_t	pool_size;		/* idle, pre-spawned sessions */
	uint32_t	max_sessions;
	uint32_t	auth_workers;		/* concurrent Argon2 verifies */
	uint32_t	auth_queue;		/* waiting verifications */
	uint32_t	max_auth_failures;	/* per session, then close */
	uint32_t	max_bad_commands;	/* per session, then close */
	uint32_t	max_messages;		/* per mailbox */

	uint64_t	argon2_memory;		/* bytes, new hashes + dummy */
	uint32_t	argon2_time;
	uint64_t	argon2_max_memory;	/* ceiling for stored hashes */
	uint32_t	argon2_max_time;

	char		tls_cert[PATH_MAX];	/* PEM chain */
	char		tls_key[PATH_MAX];	/* PEM key, mode 0600/0400 */
	char		tls_protocols[64];	/* libtls syntax */
	char		tls_ciphers[256];
	uint64_t	tls_handshake_timeout_ms;
	uint64_t	tls_ticket_lifetime_ms;	/* 0: no session tickets */
	char		implementation[64];	/* CAPA; empty: not sent */

	/* access lists, on the heap (config_free); who may connect where */
	struct access_list *access;
	size_t		naccess;
	uint32_t	max_sessions_per_ip;	/* per IPv4 address, IPv6 /64 */
	uint32_t	max_connections_per_minute;	/* per source */

	/* brute force: authd counts, the parent bans */
	uint64_t	auth_fail_delay_max_ms;	/* the doubling stops here */
	char		auth_trusted[32];	/* access list: no penalties */
	uint32_t	ban_threshold;		/* failures per source; 0: off */
	uint64_t	ban_time_ms;
	uint64_t	ban_window_ms;		/* failures older are forgotten */
	char		ban_file[PATH_MAX];	/* bans across restarts */
	char		decoy[CONFIG_MAX_DECOYS][CONFIG_NAME_MAX];
	int		ndecoy;
	uint64_t	login_delay_ms;		/* RFC 2449 LOGIN-DELAY; 0: off */
	char		control_socket[PATH_MAX];	/* pop3ctl; empty: none */

	/* the audit trail (pop3d-audit); empty audit_file: none */
	char		audit_file[PATH_MAX];
	char		audit_state[PATH_MAX];	/* from pop3ctl audit init */
	char		audit_user[CONFIG_NAME_MAX];
	uint64_t	audit_seal_interval_ms;
	uint64_t	audit_rotate_size;	/* bytes; 0: only on SIGUSR1 */
	int		audit_required;		/* no logins while unaudited */

	uint64_t	auth_fail_delay_ms;
	uint64_t	login_timeout_ms;	/* AUTHORIZATION state */
	uint64_t	idle_timeout_ms;	/* TRANSACTION state */
	uint64_t	line_timeout_ms;	/* first byte of a line to its end */
	uint32_t	max_commands;		/* per session */
};

void	config_defaults(struct config *);
int	config_parse_buf(struct config *, const char *, const char *, size_t);
int	config_load(struct config *, const char *);
void	config_free(struct config *);
const struct access_list *config_access_for(const struct config *, int);
const struct access_list *config_access_named(const struct config *,
	    const char *);
int	config_uses_tls(const struct config *);
int	config_keywords_sorted(void);
int	config_mailbox_path(const struct config *, const char *, char *,
	    size_t);

#endif
