/* See tls_ticket_compat.c: makes libtls's session tickets work on OpenSSL. */
#ifndef TLS_TICKET_COMPAT_H
#define TLS_TICKET_COMPAT_H

int	tls_ticket_compat_init(void);

#endif
