/*
 * Session tickets with LibreTLS on OpenSSL 3.
 *
 * libtls's ticket callback (tls_server.c) returns 0 after it has set up a
 * new ticket, because LibreSSL's libssl treats anything but a negative value
 * as success.  OpenSSL reads 0 from that callback as "issue no ticket" and
 * sends an empty one, so on Debian's libtls (LibreTLS 3.7 over OpenSSL 3.0)
 * no session can ever be resumed, not even in one process.  This file
 * interposes the one libssl call libtls uses to install that callback and
 * wraps the callback so that a prepared ticket is reported the way OpenSSL
 * expects (1).  Everything else passes straight through.  It is compiled
 * only against OpenSSL; with LibreSSL (OpenBSD) libtls works as it is.
 */

#include <openssl/opensslv.h>

#if !defined(LIBRESSL_VERSION_NUMBER) && OPENSSL_VERSION_NUMBER >= 0x30000000L

#define OPENSSL_SUPPRESS_DEPRECATED	/* the callback type libtls uses */
#include <dlfcn.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "tls_ticket_compat.h"

typedef long (*callback_ctrl_fn)(SSL_CTX *, int, void (*)(void));
typedef int (*ticket_cb_fn)(SSL *, unsigned char *, unsigned char *,
    EVP_CIPHER_CTX *, HMAC_CTX *, int);

static callback_ctrl_fn	real_callback_ctrl;
static ticket_cb_fn	libtls_ticket_cb;

/* The key name, IV and cipher/MAC contexts libtls filled in are exactly
 * what OpenSSL needs; only the verdict for mode 1 (encrypt) differs. */
static int
ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *ectx, HMAC_CTX *hctx, int enc)
{
	int	 r;

	r = libtls_ticket_cb(ssl, name, iv, ectx, hctx, enc);
	if (enc == 1 && r == 0)
		return 1;
	return r;
}

/* Resolved before the sandbox is entered, so no lookup happens later. */
int
tls_ticket_compat_init(void)
{
	if (real_callback_ctrl == NULL)
		real_callback_ctrl = (callback_ctrl_fn)dlsym(RTLD_NEXT,
		    "SSL_CTX_callback_ctrl");
	return real_callback_ctrl == NULL ? -1 : 0;
}

long
SSL_CTX_callback_ctrl(SSL_CTX *ctx, int cmd, void (*fp)(void))
{
	if (real_callback_ctrl == NULL && tls_ticket_compat_init() == -1)
		return 0;
	if (cmd == SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB && fp != NULL &&
	    fp != (void (*)(void))ticket_cb) {
		libtls_ticket_cb = (ticket_cb_fn)fp;
		fp = (void (*)(void))ticket_cb;
	}
	return real_callback_ctrl(ctx, cmd, fp);
}

#else

#include "tls_ticket_compat.h"

int
tls_ticket_compat_init(void)
{
	return 0;
}

#endif
