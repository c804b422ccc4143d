/*
 * The operator's control channel (pop3ctl bans, sources, status, unban):
 * a local stream socket the root parent listens on, mode 0600, bound
 * before the parent's sandbox since bind and listen are not allowed after
 * it.  One request line per connection, one bounded reply, a deadline for
 * the whole exchange and a few clients at once, so that a stuck or hostile
 * client can never hold up the event loop.  Only root may ask.
 */
#ifndef POP3D_CONTROL_H
#define POP3D_CONTROL_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_CLIENTS_MAX	4	/* more are closed at once */
#define CONTROL_LINE_MAX	256	/* a request with its LF */
#define CONTROL_POLLFDS		(1 + CONTROL_CLIENTS_MAX)

struct control_client {
	int		 fd;
	uint64_t	 deadline;	/* for the whole exchange */
	char		 in[CONTROL_LINE_MAX];
	size_t		 inlen;
	char		*out;		/* the reply, once the line is in */
	size_t		 outlen, outoff;
};

struct control {
	int			 fd;		/* listening; -1: none */
	char			 path[PATH_MAX];
	dev_t			 dev;		/* the socket file we made */
	ino_t			 ino;
	uint64_t		 paused_until;	/* out of descriptors */
	struct control_client	 client[CONTROL_CLIENTS_MAX];
	size_t			 nclient;
};

struct parent;
struct pollfd;

int	 control_listen(const char *);
void	 control_start(struct control *, const char *);
void	 control_stop(struct control *);
size_t	 control_pollfds(struct control *, struct pollfd *);
void	 control_events(struct parent *, const struct pollfd *, size_t);
uint64_t control_deadline(const struct control *);

#endif
