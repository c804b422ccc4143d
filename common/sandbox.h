/*
 * The sandbox interface: one call, sandbox_enter(), made by a role as its
 * last start-up step, just before its event loop.  dirfd is the one
 * directory descriptor a role may still open files under (authd's users
 * file directory), or -1.  One backend per
 * platform (sandbox_seccomp.c on Linux, sandbox_pledge.c on OpenBSD), one
 * policy per role in policy/.  There is no fallback: a process that cannot
 * enter its sandbox exits.
 */
#ifndef POP3D_SANDBOX_H
#define POP3D_SANDBOX_H

void	sandbox_enter(int, int);
#ifdef POP3D_TEST_HOOKS
int	sandbox_test_violate(const char *);
void	sandbox_test_user(const char *, const char *);
void	sandbox_test_break(int);
#endif

#endif
