/* tsbuild-helper: the small native part of tsbuild's rootless sandbox.
 *   tsbuild-helper session [--map-root] [--uid-map "C H N ..."] [--gid-map "C H N ..."] -- CMD ARGS...
 *   tsbuild-helper run [options] -- ARGS...           (see run.c)
 * Node cannot unshare(2) itself (it is multi-threaded), so these namespace steps live here. */
#include "helper.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int g_status_fd = -1;

int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

void fail(int with_errno, const char *fmt, ...) {
  int saved = errno;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  if (with_errno) n += snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(saved));
  if ((size_t)n >= sizeof msg - 1) n = sizeof msg - 2;
  msg[n++] = '\n';
  int fd = g_status_fd >= 0 ? g_status_fd : 2;
  write_all(fd, msg, (size_t)n);
  _exit(HELPER_FAIL);
}

long parse_num(const char *s) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v > 0xffffffffUL || *s == '-') return -1;
  return (long)v;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "session") == 0) return session_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "run") == 0) return run_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "version") == 0) {
    puts("tsbuild-helper 1");
    return 0;
  }
  fprintf(stderr, "usage: tsbuild-helper session|run ... (internal helper of tsbuild)\n");
  return 2;
}
