/* authd's reports to the audit writer (report.c). */
#ifndef POP3D_REPORT_H
#define POP3D_REPORT_H

#include <stdint.h>

#include "ipc.h"

void	report_auth(struct ipc_chan *, int, const char *, uint32_t,
	    const char *, const char *, const char *, const char *);

#endif
