/*
 * The parent process: the only root process once the daemon runs.  It owns
 * the listeners and the process table, applies the configuration, and turns
 * authd's verdicts into storaged processes.  It never reads client bytes;
 * on a PROXY listener it reads the header a trusted proxy sends, nothing more.
 */
#ifndef POP3D_PARENT_H
#define POP3D_PARENT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include "config.h"
#include "control.h"
#include "ipc.h"
#include "bans.h"
#include "sources.h"
#include "tls_material.h"

#define MAX_LISTENERS	(2 * CONFIG_MAX_LISTEN)

enum child_state {
	CH_FREE = 0,
	CH_STARTING,		/* spawned, HELLO not yet seen */
	CH_READY,		/* session: idle in the pool; others: up */
	CH_RETIRING,		/* session: old TLS material, told to exit */
	CH_BUSY,		/* session: serving a client */
	CH_GRANTED		/* session: logged in, storaged started */
};

struct child {
	pid_t		 pid;
	int		 role;
	int		 state;
	uint32_t	 session;
	uint64_t	 started_ms;
	uint32_t	 generation;	/* TLS material it was given */
	struct ip_addr	 source;	/* session: counted in p->sources */
	int		 counted;
	char		 peer[64], local[64];	/* session: its connection */
	uint32_t	 peer_port, local_port;
	struct ipc_chan	 chan;
	char		 label[352];	/* log prefix: "session 12" */
};

/* A connection on a PROXY listener, waiting for its header. */
struct proxy_wait {
	int			 fd;
	int			 li;		/* listener index */
	uint64_t		 deadline;
	struct sockaddr_storage	 peer, local;	/* the proxy's connection */
	socklen_t		 plen, llen;
};
#define PROXY_WAIT_MAX	64

struct parent {
	struct config	 conf;
	char		 conffile[PATH_MAX];
	int		 verbose;

	int		 listen_fd[MAX_LISTENERS];
	uint32_t	 listen_flags[MAX_LISTENERS];
	int		 listen_conf[MAX_LISTENERS];	/* conf.listen index */
	int		 nlisten;

	struct child	*children;
	size_t		 nchildren;	/* table size */
	struct child	*authd;		/* NULL while down */
	struct child	*audit;		/* the audit writer; NULL: none */
	uint64_t	 audit_restart_at;
	int		 audit_failing;	/* the writer says it cannot store */
	uint64_t	 authd_restart_at;
	uint64_t	 pool_backoff_until;	/* sessions failing to start */
	uint32_t	 next_session;
	uid_t		 mail_uid;
	gid_t		 mail_gid;
	int		 sig_pipe[2];

	struct tls_material tls;	/* loaded when tls_ready */
	int		 tls_ready;
	uint32_t	 tls_generation;	/* bumped on reload/rotation */
	uint64_t	 ticket_rotated_ms;

	struct source_table sources;	/* per-source limits */
	struct ban_table bans;		/* from authd; in conf.ban_file */
	struct proxy_wait proxy_wait[PROXY_WAIT_MAX];
	size_t		 nproxy;

	struct control	 control;	/* pop3ctl's socket (control.c) */
};

/* children.c */
struct child	*child_spawn(struct parent *, int, const int *, int);
struct child	*child_by_pid(struct parent *, pid_t);
struct child	*child_ready_session(struct parent *);
size_t		 child_count(struct parent *, int, int);
void		 child_release(struct child *);
void		 child_kill(struct child *, int);
void		 child_signal_all(struct parent *, int);
int		 child_send(struct child *, struct ipc_msg *);

/* parent_access.c */
int	parent_admit(struct parent *, int, int, const struct sockaddr *,
	    socklen_t, struct ip_addr *);
void	parent_source_done(struct parent *, struct child *);
void	parent_ban(struct parent *, struct ipc_msg *);
void	parent_bans_load(struct parent *);
int	parent_reload_policy(struct parent *);

/* parent_audit.c */
void	parent_audit_start(struct parent *);
void	parent_audit_gone(struct parent *, int);
int	parent_audit_channel(struct parent *, int, pid_t,
	    const struct child *, const char *);
void	parent_audit_link(struct parent *, struct child *,
	    const struct child *, const char *);
void	parent_audit_rewire_authd(struct parent *);
int	parent_audit_ready(struct parent *);
void	parent_audit_input(struct parent *, struct ipc_msg *);
void	parent_audit_rotate(struct parent *, const char *);
void	parent_audit(struct parent *, const char *, ...)
	    __attribute__((sentinel));

/* parent_proxy.c */
struct pollfd;
void	parent_proxy_wait(struct parent *, int, int,
	    const struct sockaddr_storage *, socklen_t,
	    const struct sockaddr_storage *, socklen_t);
size_t	parent_proxy_pollfds(struct parent *, struct pollfd *);
void	parent_proxy_events(struct parent *, const struct pollfd *, size_t);
uint64_t parent_proxy_deadline(const struct parent *);

/* parent_tls.c */
int	parent_tls_load(struct parent *);
void	parent_tls_rotate(struct parent *);
int	parent_tls_send(struct parent *, int);

/* parent.c */
void	parent_connection(struct parent *, int, int,
	    const struct sockaddr_storage *, socklen_t,
	    const struct sockaddr_storage *, socklen_t,
	    const struct sockaddr_storage *, socklen_t);
void	parent_loop(struct parent *);

#endif
