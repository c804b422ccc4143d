/*
 * The seccomp backend's one extra entry point, kept out of sandbox.h so
 * that the daemons see only sandbox_enter(): sandbox_filter() returns the
 * role's filter built but not loaded (the caller owns it and releases it
 * with seccomp_release()), which lets the tests export the BPF and check
 * it against a reviewed table without confining themselves.
 */
#ifndef POP3D_SANDBOX_BUILD_H
#define POP3D_SANDBOX_BUILD_H

#include <seccomp.h>

scmp_filter_ctx	sandbox_filter(int, int);

#endif
