/*
 * bindreqd's one logging module. Diagnostics go to the chosen target
 * (stderr by default) with a priority word; audit lines are key=value and
 * their values are escaped so that nothing from outside can forge a line.
 */
#ifndef BINDREQD_LOG_H
#define BINDREQD_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

/*
 * Where lines go: "-" (stderr), "syslog", or a file opened for appending
 * (before the privilege drop; the descriptor is kept). Returns 0 or -1
 * with errno. Until called, lines go to stderr.
 */
int log_open(const char *target);
void log_set_debug(int on);
void log_close(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * An audit line: "time=... " followed by the already formatted key=value
 * text. Callers build values with log_escape().
 */
int log_audit(const char *kv);

/* The queue of lines (being replaced by a non-blocking one). */
#include <stdbool.h>
bool log_audit_room(unsigned nlines);
bool log_pending(void);
int log_poll_fd(void);
int log_retry_ms(void);
void log_flush(void);

/*
 * Quote src for a key=value line into dst (at most len bytes, always
 * terminated): printable ASCII other than '"', '\\' and '=' and space is
 * copied; anything else becomes \xNN; the whole is wrapped in double quotes
 * if it was empty or contained a space (spaces then stay). A value too long
 * for dst is cut, never its closing quote; with len < 3 a quoted value
 * becomes "". Returns dst.
 */
char *log_escape(const char *src, char *dst, size_t len);

#endif /* BINDREQD_LOG_H */
