/* tsbuild-helper: shared declarations. See src/executor/index.ts for the design. */
#ifndef TSBUILD_HELPER_H
#define TSBUILD_HELPER_H
#define _GNU_SOURCE
#include <sys/types.h>

/* Exit status for a failure of the helper itself (the message went to the status fd or stderr). */
#define HELPER_FAIL 125

/* Status fd (errors for the caller), -1 when not given. */
extern int g_status_fd;

/* Report "tsbuild-helper: <msg>[: <strerror(errno)>]" on the status fd (or stderr) and _exit(HELPER_FAIL). */
void fail(int with_errno, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Parse a decimal unsigned number; -1 when not a number. */
long parse_num(const char *s);
/* Write all bytes, retrying on EINTR. */
int write_all(int fd, const char *buf, size_t len);

int session_main(int argc, char **argv);
int run_main(int argc, char **argv);
#endif
