/*
 * The OpenBSD sandbox backend: pledge(2) with one promise string per role.
 * A session talks over descriptors it already holds ("stdio"); it opens
 * nothing, so it needs no unveil.
 */
#include <unistd.h>

#include "ipc_proto.h"
#include "log.h"
#include "sandbox.h"

void
sandbox_enter(int role)
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
	default:
		fatalx("sandbox: no policy for role %s", ipc_role_name(role));
	}
	if (unveil(NULL, NULL) == -1 || pledge(promises, NULL) == -1)
		fatal("sandbox: pledge");
}
