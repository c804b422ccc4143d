/*
 * Logging for every process.  The parent writes to syslog, or to stderr
 * with -d.  Children are chrooted and cannot reach /dev/log, so once
 * log_to_channel() is called their lines travel to the parent as IPC_LOG
 * messages and the parent prefixes them with who sent them.
 */
#ifndef POP3D_LOG_H
#define POP3D_LOG_H

#include <stdarg.h>
#include <syslog.h>

struct ipc_chan;

void	log_init(const char *, int, int);
void	log_to_channel(struct ipc_chan *);
void	log_set_verbose(int);
void	log_emit(int, const char *, const char *);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
