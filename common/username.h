/*
 * The one user-name grammar.  Checked in the session before a name leaves
 * it, again in authd, and by pop3ctl, so a name that reaches the users file
 * or a mailbox path is always local@domain in lower case with a small,
 * path-safe alphabet.
 */
#ifndef POP3D_USERNAME_H
#define POP3D_USERNAME_H

#include <stddef.h>

#define USERNAME_MAX	320	/* 64 + '@' + 253 + NUL, rounded */

int	username_canonical(const char *, char *, size_t);

#endif
