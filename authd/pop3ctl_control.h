/*
 * pop3ctl's side of pop3d's control socket (pop3d/control.c): one request
 * line, the reply printed, within a fixed time.
 */
#ifndef POP3D_POP3CTL_CONTROL_H
#define POP3D_POP3CTL_CONTROL_H

#include "config.h"

/* Each returns pop3ctl's exit status: 0 on success, 1 on any error. */
int	ctl_request(const struct config *, const char *);
int	ctl_unban(const struct config *, const char *);

#endif
