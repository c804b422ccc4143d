/*
 * The OpenBSD sandbox backend: pledge(2) with one promise string per role.
 * A session talks over descriptors it already holds ("stdio"); it opens
 * nothing, so it needs no unveil.  authd re-reads the users file through a
 * directory descriptor it opened before chroot.  The parent keeps what it
 * needs to start and confine children.  (Written to pledge(2); not yet
 * exercised on an OpenBSD host.)
 */
#include <unistd.h>

#include "ipc_proto.h"
#include "log.h"
#include "sandbox.h"

void
sandbox_enter(int role, int dirfd)
{
	const char *promises;

	switch (role) {
	case ROLE_SESSION:
		promises = "stdio recvfd";
		break;
	case ROLE_STORAGED:
		/* chrooted into the mailbox: "/" is all it can see */
		if (unveil("/", "rc") == -1)
			fatal("sandbox: unveil");
		promises = "stdio rpath cpath flock sendfd";
		break;
	case ROLE_AUTHD:
		(void)dirfd;
		promises = "stdio rpath recvfd";	/* session channels */
		break;
	case ROLE_AUDIT:
		/* the state file is replaced through a directory descriptor */
		promises = "stdio rpath wpath cpath fattr recvfd";
		break;
	case ROLE_PARENT:
		promises = "stdio rpath wpath cpath inet unix sendfd recvfd "
		    "proc exec id getpw";
		break;
	default:
		fatalx("sandbox: no policy for role %s", ipc_role_name(role));
	}
	if (unveil(NULL, NULL) == -1 || pledge(promises, NULL) == -1)
		fatal("sandbox: pledge");
}
