/*
 * The fixed, fail-closed confinement steps every child takes before it
 * serves anything: check the chroot directory, chroot, drop to an
 * unprivileged uid/gid with no way back, tighten resource limits.  Without
 * root (development mode) the steps are skipped with a loud warning.
 */
#ifndef POP3D_PRIVDROP_H
#define POP3D_PRIVDROP_H

#include <sys/types.h>
#include <sys/resource.h>

#define PRIV_DIR_ROOT_OWNED	0x1	/* chroot dir must be root's, 0755 */
#define PRIV_NO_FILES		0x2	/* RLIMIT_FSIZE 0: writes nothing */

/* RLIMIT_NOFILE of the roles that hold a fixed set of descriptors:
 * stdio, channels, the client, one message in flight, with room to spare */
#define PRIV_NOFILE_SESSION	16
#define PRIV_NOFILE_STORAGED	16

int	priv_is_root(void);
int	priv_lookup(const char *, uid_t *, gid_t *);
void	priv_check_dir(const char *, uid_t, int);
void	priv_drop(const char *, uid_t, gid_t, int);
void	priv_limits(int, rlim_t);

#endif
