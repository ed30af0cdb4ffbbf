/* `tsbuild-helper run`: run one process in a container on a rootfs directory. Called as session root.
 *
 *   run --rootfs DIR [--status-fd N] [--hostname H] [--net-none] [--ro] [--user SPEC] [--cwd DIR]
 *       [--bind SRC DST ro|rw] [--tmpfs DST SIZE MODE] [--copy SRC DST MODE UID GID]
 *       [--write DST MODE UID GID CONTENT] ... -- ARGS...
 *
 * Process tree: this process (H) stays in the session to clean up (and dies with its parent); its child (C) is PID 1 of new mount/pid/ipc/uts
 * (and net) namespaces: it mounts, pivot_roots, forks the command (P) and reaps until P exits. When C exits, the
 * kernel kills everything left in the pid namespace and the mount namespace dies with it, so no mount outlives a
 * run. Mount points that had to be created on the rootfs ("stubs") are reported to H, which removes them (and
 * restores the parent's times) afterwards, so a run leaves no trace of its mounts in the rootfs.
 * Setup errors are written to the status fd (one line, "<kind>: message") and exit with HELPER_FAIL. */
#include "helper.h"
#include "run.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t g_child = -1;

static void kill_child(int sig) {
  (void)sig;
  if (g_child > 0) kill(g_child, SIGKILL);
}

static void need(int i, int n, int argc, const char *opt) {
  if (i + n >= argc) fail(0, "spec: %s needs %d arguments", opt, n);
}

static long num_arg(const char *s, const char *what) {
  long v = parse_num(s);
  if (v < 0) fail(0, "spec: bad %s '%s'", what, s);
  return v;
}

static void parse(struct run_spec *s, int argc, char **argv) {
  memset(s, 0, sizeof *s);
  s->hostname = "tsbuild";
  s->cwd = "/";
  s->user = "";
  int i = 0;
  for (; i < argc; i++) {
    const char *o = argv[i];
    struct run_mount *m = &s->mounts[s->nmounts];
    if (strcmp(o, "--") == 0) { i++; break; }
    if (!strcmp(o, "--rootfs")) { need(i, 1, argc, o); s->rootfs = argv[++i]; }
    else if (!strcmp(o, "--status-fd")) { need(i, 1, argc, o); g_status_fd = (int)num_arg(argv[++i], "fd"); }
    else if (!strcmp(o, "--hostname")) { need(i, 1, argc, o); s->hostname = argv[++i]; }
    else if (!strcmp(o, "--user")) { need(i, 1, argc, o); s->user = argv[++i]; }
    else if (!strcmp(o, "--cwd")) { need(i, 1, argc, o); s->cwd = argv[++i]; }
    else if (!strcmp(o, "--net-none")) s->net_none = 1;
    else if (!strcmp(o, "--ro")) s->readonly = 1;
    else if (s->nmounts >= MAX_MOUNTS) fail(0, "spec: too many mounts");
    else if (!strcmp(o, "--bind")) {
      need(i, 3, argc, o);
      m->kind = M_BIND; m->src = argv[i + 1]; m->dst = argv[i + 2]; m->ro = !strcmp(argv[i + 3], "ro");
      i += 3; s->nmounts++;
    } else if (!strcmp(o, "--tmpfs")) {
      need(i, 3, argc, o);
      m->kind = M_TMPFS; m->dst = argv[i + 1]; m->size = num_arg(argv[i + 2], "size"); m->mode = num_arg(argv[i + 3], "mode");
      i += 3; s->nmounts++;
    } else if (!strcmp(o, "--copy") || !strcmp(o, "--write")) {
      int w = !strcmp(o, "--write");
      need(i, 5, argc, o);
      m->kind = w ? M_WRITE : M_COPY;
      if (w) { m->dst = argv[i + 1]; m->content = argv[i + 5]; }
      else { m->src = argv[i + 1]; m->dst = argv[i + 2]; }
      m->mode = num_arg(argv[i + (w ? 2 : 3)], "mode"); m->uid = num_arg(argv[i + (w ? 3 : 4)], "uid");
      m->gid = num_arg(argv[i + (w ? 4 : 5)], "gid"); m->ro = 1;
      i += 5; s->nmounts++;
    } else fail(0, "spec: unknown option %s", o);
  }
  if (!s->rootfs || s->rootfs[0] != '/') fail(0, "spec: --rootfs must be an absolute path");
  if (i >= argc) fail(0, "spec: no command");
  s->args = argv + i;
  for (int k = 0; k < s->nmounts; k++)
    if (s->mounts[k].dst[0] != '/') fail(0, "spec: mount target %s is not absolute", s->mounts[k].dst);
}

/* Remove the stubs C reported, newest first. A parent gets its old times back only when its mtime is still the one
 * the stub creation gave it; a parent the command changed as well keeps the command's time (BuildKit keeps it too). */
static void remove_stubs(int rootfd, char *list) {
  char *lines[4096];
  int n = 0;
  for (char *l = strtok(list, "\n"); l && n < 4096; l = strtok(NULL, "\n")) lines[n++] = l;
  while (n-- > 0) {
    char kind;
    long long ms, mn, as, an, ps, pn;
    int off = 0;
    if (sscanf(lines[n], "%c %lld %lld %lld %lld %lld %lld %n", &kind, &ms, &mn, &as, &an, &ps, &pn, &off) < 7 || off == 0) continue;
    char *path = lines[n] + off;
    char *slash = strrchr(path, '/');
    if (!slash || !slash[1]) continue;
    *slash = '\0';
    int parent = resolve_in_root(rootfd, path[0] ? path : "/", O_DIRECTORY);
    if (parent < 0) continue;
    struct stat st, pst;
    const char *base = slash + 1;
    int removed = 0;
    int untouched = fstatat(parent, "", &pst, AT_EMPTY_PATH) == 0 && pst.st_mtim.tv_sec == ps && pst.st_mtim.tv_nsec == pn;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (kind == 'd' && S_ISDIR(st.st_mode)) removed = unlinkat(parent, base, AT_REMOVEDIR) == 0;
      else if (kind == 'f' && S_ISREG(st.st_mode) && st.st_size == 0) removed = unlinkat(parent, base, 0) == 0;
    }
    if (removed) {
      struct timespec ts[2] = {{.tv_sec = as, .tv_nsec = an}, {.tv_sec = ms, .tv_nsec = mn}};
      if (!untouched) {
        ts[0] = pst.st_atim;
        ts[1] = pst.st_mtim;
      }
      char p[64];
      snprintf(p, sizeof p, "/proc/self/fd/%d", parent);
      utimensat(AT_FDCWD, p, ts, 0);
    }
    close(parent);
  }
}

int run_main(int argc, char **argv) {
  static struct run_spec spec;
  pid_t parent = getppid();
  /* H dies with the tsbuild process that started it (even on kill -9), and C dies with H (its own PDEATHSIG),
   * which takes the whole pid namespace down: a killed build never leaves sandboxed processes behind. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail(1, "setup: prctl");
  if (getppid() != parent) _exit(HELPER_FAIL);
  parse(&spec, argc, argv);
  if (g_status_fd >= 0) fcntl(g_status_fd, F_SETFD, FD_CLOEXEC);
  int hostroot = open(spec.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (hostroot < 0) fail(1, "setup: rootfs %s", spec.rootfs);
  int stubs[2];
  if (pipe2(stubs, O_CLOEXEC) < 0) fail(1, "setup: pipe");
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | (spec.net_none ? CLONE_NEWNET : 0);
  pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) fail(1, "setup: clone(namespaces)");
  if (pid == 0) {
    close(stubs[0]);
    container_main(&spec, stubs[1], &old);
  }
  g_child = pid;
  close(stubs[1]);
  struct sigaction sa = {.sa_handler = kill_child};
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
  for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaction(sigs[k], &sa, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1024 > cap) buf = realloc(buf, cap *= 2);
    if (!buf) fail(1, "setup: out of memory");
    ssize_t r = read(stubs[0], buf + len, cap - len - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) break;
  remove_stubs(hostroot, buf);
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}
