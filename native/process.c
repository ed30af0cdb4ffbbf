/* The container's user, working directory, privileges, and PID 1's reaper loop. Runs after pivot_root, so the
 * image's /etc/passwd and /etc/group are read as the container sees them. */
#include "helper.h"
#include "run.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Find the line of an /etc/passwd-style file whose field 0 (by name) or field `idfield` (by id) matches `key`.
 * Returns the fields split in place, or 0. */
static int lookup(const char *file, const char *key, int by_id, int idfield, char *line, size_t cap, char **f, int nf) {
  FILE *fp = fopen(file, "re");
  if (!fp) return 0;
  while (fgets(line, (int)cap, fp)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#' || !line[0]) continue;
    int n = 0;
    char *p = line;
    for (; n < nf; n++) {
      f[n] = p;
      p = strchr(p, ':');
      if (!p) { n++; break; }
      *p++ = '\0';
    }
    for (int k = n; k < nf; k++) f[k] = "";
    if (n > idfield && !strcmp(by_id ? f[idfield] : f[0], key)) {
      fclose(fp);
      return 1;
    }
  }
  fclose(fp);
  return 0;
}

void resolve_user(const char *spec, struct exec_user *u) {
  char buf[512], line[4096], *f[7];
  snprintf(buf, sizeof buf, "%s", spec && *spec ? spec : "root");
  char *grp = strchr(buf, ':');
  if (grp) *grp++ = '\0';
  long uid = parse_num(buf);
  char name[256] = "";
  u->gid = 0;
  if (lookup("/etc/passwd", buf, uid >= 0, 2, line, sizeof line, f, 7)) {
    snprintf(name, sizeof name, "%s", f[0]);
    uid = parse_num(f[2]);
    long g = parse_num(f[3]);
    if (uid < 0 || g < 0) fail(0, "user: bad /etc/passwd entry for %s", buf);
    u->gid = (gid_t)g;
  } else if (uid < 0) {
    fail(0, "user: unable to find user %s: no matching entries in /etc/passwd", buf);
  }
  u->uid = (uid_t)uid;
  u->ngroups = 0;
  if (grp && *grp) {
    long g = parse_num(grp);
    if (g < 0) {
      if (!lookup("/etc/group", grp, 0, 2, line, sizeof line, f, 4) || (g = parse_num(f[2])) < 0)
        fail(0, "user: unable to find group %s: no matching entries in /etc/group", grp);
    }
    u->gid = (gid_t)g;
    u->groups[u->ngroups++] = u->gid;
    return;
  }
  u->groups[u->ngroups++] = u->gid;
  if (!name[0]) return;
  FILE *fp = fopen("/etc/group", "re");
  if (!fp) return;
  while (fgets(line, sizeof line, fp) && u->ngroups < 64) {
    line[strcspn(line, "\n")] = '\0';
    char *fs[4] = {line, NULL, NULL, NULL};
    for (int k = 1; k < 4; k++) {
      fs[k] = fs[k - 1] ? strchr(fs[k - 1], ':') : NULL;
      if (fs[k]) *fs[k]++ = '\0';
    }
    if (!fs[2] || !fs[3]) continue;
    long g = parse_num(fs[2]);
    if (g < 0 || (gid_t)g == u->gid) continue;
    for (char *m = strtok(fs[3], ","); m; m = strtok(NULL, ","))
      if (!strcmp(m, name)) {
        u->groups[u->ngroups++] = (gid_t)g;
        break;
      }
  }
  fclose(fp);
}

void make_cwd(const char *cwd, uid_t uid, gid_t gid) {
  char path[4096];
  if (!cwd || cwd[0] != '/') fail(0, "spec: working directory %s is not absolute", cwd ? cwd : "(null)");
  snprintf(path, sizeof path, "%s", cwd);
  for (char *p = path + 1;; p++) {
    if (*p == '/' || !*p) {
      char c = *p;
      *p = '\0';
      if (mkdir(path, 0755) == 0) {
        if (chown(path, uid, gid) < 0) fail(1, "setup: chown working directory %s to %u:%u", path, uid, gid);
      } else if (errno != EEXIST) {
        fail(1, "setup: create working directory %s", path);
      }
      *p = c;
      if (!c) break;
    }
  }
}

/* Docker's default capability set for root in a container; everything else leaves the bounding set. */
static const int keep_caps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID,
                                CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SYS_CHROOT, CAP_MKNOD,
                                CAP_AUDIT_WRITE, CAP_SETFCAP};

static void drop_capabilities(void) {
  for (int c = 0; c <= 63; c++) {
    int keep = 0;
    for (unsigned k = 0; k < sizeof keep_caps / sizeof keep_caps[0]; k++) keep |= keep_caps[k] == c;
    if (keep) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;
      fail(1, "setup: drop capability %d", c);
    }
  }
}

static void child(struct run_spec *s, const struct exec_user *u, const sigset_t *mask) {
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, mask, NULL);
  drop_capabilities();
  char allow[16] = "allow";
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, allow, sizeof allow - 1);
    allow[n > 0 ? n : 0] = '\0';
    close(fd);
  }
  if (strncmp(allow, "allow", 5) == 0 && setgroups((size_t)u->ngroups, u->groups) < 0)
    fail(1, "user: setgroups (are all groups of the user mapped in this session?)");
  if (setresgid(u->gid, u->gid, u->gid) < 0)
    fail(1, "user: gid %u is not usable in this session (no subordinate gid range?)", u->gid);
  if (setresuid(u->uid, u->uid, u->uid) < 0)
    fail(1, "user: uid %u is not usable in this session (no subordinate uid range?)", u->uid);
  /* no_new_privs stays off, as runc under Docker sets it: a setuid binary (sudo, su, ping) works for a RUN as a
   * non-root USER exactly as in `docker build`; it can gain no more than the bounding set dropped above. */
  if (chdir(s->cwd) < 0) fail(1, "setup: chdir %s", s->cwd);
  execvp(s->args[0], s->args);
  fail(1, "exec: %s", s->args[0]);
}

static pid_t g_cmd = -1;
static void forward(int sig) {
  if (g_cmd > 0) kill(g_cmd, sig);
}

void exec_and_reap(struct run_spec *s, const struct exec_user *u, const sigset_t *orig_mask) {
  pid_t pid = fork();
  if (pid < 0) fail(1, "setup: fork");
  if (pid == 0) child(s, u, orig_mask);
  g_cmd = pid;
  if (g_status_fd >= 0) close(g_status_fd);
  struct sigaction sa = {.sa_handler = forward};
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaction(sigs[k], &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (;;) {
    int st;
    pid_t w = wait(&st);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(HELPER_FAIL);
    }
    if (w == pid) _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
}
