/*
 * Framing, field codec and descriptor passing for every channel between
 * pop3d's processes.  A channel is one end of an AF_UNIX SOCK_SEQPACKET
 * socketpair, so each message is one datagram: a 12-byte header (type,
 * number of descriptors, payload length, session id) and a bounded payload
 * of typed fields.  Receiving validates the header against the permission
 * table in ipc_proto.c; the getters then fail on any short, over-long or
 * malformed field, and ipc_get_end() insists nothing is left over.
 */
#ifndef POP3D_IPC_H
#define POP3D_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_proto.h"

struct ipc_chan {
	int		 fd;
	int		 local_role;
	int		 peer_role;
	int		 hello_seen;	/* peer's HELLO arrived */
	char		 name[48];	/* for log lines */
};

struct ipc_msg {
	uint16_t	 type;
	uint32_t	 session;
	int		 fds[IPC_MAX_FDS];
	int		 nfds;
	size_t		 len;		/* payload bytes */
	size_t		 pos;		/* read position */
	int		 error;		/* a put overflowed or a get failed */
	uint8_t		 data[IPC_MAX_PAYLOAD];
};

/* ipc_recv() results */
#define IPC_OK		1
#define IPC_EOF		0
#define IPC_BAD		(-1)	/* violation or I/O error: drop the channel */
#define IPC_AGAIN	(-2)	/* nothing to read now */

int	ipc_socketpair(int [2]);
void	ipc_chan_init(struct ipc_chan *, int, int, int, const char *);
void	ipc_chan_close(struct ipc_chan *);

void	ipc_msg_init(struct ipc_msg *, unsigned int, uint32_t);
void	ipc_msg_close_fds(struct ipc_msg *);
void	ipc_put_u32(struct ipc_msg *, uint32_t);
void	ipc_put_u64(struct ipc_msg *, uint64_t);
void	ipc_put_str(struct ipc_msg *, const char *);
int	ipc_get_u32(struct ipc_msg *, uint32_t *);
int	ipc_get_u64(struct ipc_msg *, uint64_t *);
int	ipc_get_str(struct ipc_msg *, char *, size_t);
int	ipc_get_end(struct ipc_msg *);

int	ipc_send(struct ipc_chan *, struct ipc_msg *);
int	ipc_send_hello(struct ipc_chan *);
int	ipc_recv(struct ipc_chan *, struct ipc_msg *);

/* Encoders and decoders that take raw buffers, for tests and fuzzing. */
size_t	ipc_encode_header(const struct ipc_msg *, uint8_t *);
/* m->fds and m->nfds must hold what arrived with the datagram. */
int	ipc_decode(struct ipc_chan *, const uint8_t *, size_t,
	    struct ipc_msg *, const char **);

#endif
