/*
 * Small utilities every process needs: strict number parsing (no atoi
 * anywhere), descriptor flags, clocks, escaping of untrusted text for logs,
 * and the few BSD functions glibc lacks.
 */
#ifndef POP3D_UTIL_H
#define POP3D_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UNUSED(x)	((void)(x))

int	fd_set_cloexec(int);
int	fd_set_nonblock(int);
int	fd_move(int, int);
void	fd_close_from(int);
int	fd_write_all(int, const void *, size_t);
int	b64_chars_ok(const char *, size_t);

int	parse_u64(const char *, uint64_t, uint64_t *);
int	parse_u32(const char *, uint32_t, uint32_t *);
int	parse_size(const char *, uint64_t *);
int	parse_duration_ms(const char *, uint64_t *);

void	role_getopt(int, char *[], const char *, const char **, int *);

uint64_t	monotonic_ms(void);
size_t		str_escape(char *, size_t, const char *, size_t);
void		str_lower(char *);

#ifdef NEED_STRLCPY
size_t	strlcpy(char *, const char *, size_t);
size_t	strlcat(char *, const char *, size_t);
#endif

#endif
