/* `tsbuild-helper session`: turn this process into a tsbuild session, then exec CMD.
 * A session is a private mount namespace, plus (when not real root) a user namespace where this user is uid 0
 * and its subordinate ids are mapped through the setuid newuidmap/newgidmap. The helper execs CMD itself, so
 * the caller's child pid is CMD's pid (signals and exit status need no relay), and it dies with its parent. */
#include "helper.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_MAP_ARGS 64

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(1, "open %s", path);
  if (write_all(fd, text, strlen(text)) < 0) fail(1, "write %s", path);
  close(fd);
}

/* Run `tool pid <map words...>` and wait for it; returns its exit status. */
static int run_map_tool(const char *tool, pid_t pid, char *map) {
  char *args[MAX_MAP_ARGS + 3];
  char pidbuf[32];
  int n = 0;
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
  args[n++] = (char *)tool;
  args[n++] = pidbuf;
  for (char *tok = strtok(map, " \t"); tok && n < MAX_MAP_ARGS + 2; tok = strtok(NULL, " \t")) args[n++] = tok;
  args[n] = NULL;
  pid_t c = fork();
  if (c < 0) return -1;
  if (c == 0) {
    execvp(tool, args);
    fprintf(stderr, "tsbuild-helper: cannot run %s: %s (install the Debian package uidmap)\n", tool, strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(c, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int session_main(int argc, char **argv) {
  int root = 0, single = 0, i = 0;
  char *uid_map = NULL, *gid_map = NULL;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (strcmp(argv[i], "--root") == 0) root = 1;
    else if (strcmp(argv[i], "--single") == 0) single = 1;
    else if (strcmp(argv[i], "--uid-map") == 0 && i + 1 < argc) uid_map = argv[++i];
    else if (strcmp(argv[i], "--gid-map") == 0 && i + 1 < argc) gid_map = argv[++i];
    else fail(0, "session: unknown option %s", argv[i]);
  }
  if (i >= argc) fail(0, "session: no command");
  pid_t parent = getppid();

  if (root) {
    if (unshare(CLONE_NEWNS) < 0) fail(1, "unshare(mount namespace)");
  } else if (single) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    char buf[64];
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) fail(1, "unshare(user+mount namespace)");
    write_file("/proc/self/setgroups", "deny");
    snprintf(buf, sizeof buf, "0 %u 1\n", (unsigned)uid);
    write_file("/proc/self/uid_map", buf);
    snprintf(buf, sizeof buf, "0 %u 1\n", (unsigned)gid);
    write_file("/proc/self/gid_map", buf);
  } else {
    if (!uid_map || !gid_map) fail(0, "session: --uid-map and --gid-map are required");
    int go[2], done[2];
    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) fail(1, "pipe");
    pid_t self = getpid();
    pid_t k = fork();
    if (k < 0) fail(1, "fork");
    if (k == 0) {
      /* Stays in the parent user namespace: newuidmap must run from there. */
      char c;
      close(go[1]);
      close(done[0]);
      if (read(go[0], &c, 1) != 1) _exit(1);
      int rc = run_map_tool("newuidmap", self, uid_map);
      if (rc == 0) rc = run_map_tool("newgidmap", self, gid_map);
      c = rc == 0 ? 'y' : 'n';
      write_all(done[1], &c, 1);
      _exit(rc == 0 ? 0 : 1);
    }
    close(go[0]);
    close(done[1]);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) fail(1, "unshare(user+mount namespace)");
    if (write_all(go[1], "g", 1) < 0) fail(1, "sync");
    char c = 'n';
    ssize_t r;
    do r = read(done[0], &c, 1); while (r < 0 && errno == EINTR);
    int st;
    while (waitpid(k, &st, 0) < 0 && errno == EINTR) {}
    if (r != 1 || c != 'y') fail(0, "newuidmap/newgidmap could not map the subordinate ids (see the message above)");
    close(go[1]);
    close(done[0]);
    /* We are uid 0 of the new namespace now: make that our real, effective and saved ids. */
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) fail(1, "setresuid(0)");
  }
  /* Mounts made in the session must never propagate to the host, and die with the session. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail(1, "make / private");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail(1, "prctl(PDEATHSIG)");
  if (getppid() != parent) _exit(HELPER_FAIL);
  setenv("TSBUILD_SESSION", "1", 1);
  execvp(argv[i], argv + i);
  fail(1, "exec %s", argv[i]);
}
