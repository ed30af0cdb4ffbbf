/* C, the container's PID 1 before exec: mount namespace setup on the rootfs, then pivot_root. Every path inside the
 * rootfs is resolved with openat2(RESOLVE_IN_ROOT), so symlinks in an image cannot point a mount at the host. */
#include "helper.h"
#include "run.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int g_rootfd = -1, g_stubfd = -1;
static unsigned long long g_root_mnt;

int resolve_in_root(int rootfd, const char *path, int extra_flags) {
  while (*path == '/') path++;
  struct open_how how = {.flags = (unsigned long long)(O_PATH | O_CLOEXEC | extra_flags),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
}

static const char *fdpath(int fd) {
  static char buf[8][64];
  static int k;
  char *b = buf[k++ & 7];
  snprintf(b, 64, "/proc/self/fd/%d", fd);
  return b;
}

static unsigned long long mnt_id(int fd) {
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0) return 0;
  return stx.stx_mnt_id;
}

/* Return an O_PATH fd of `path` in the rootfs, creating it (and missing parents) as a directory or empty file. */
static int ensure(const char *path, int isdir) {
  int fd = resolve_in_root(g_rootfd, path, 0);
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0) fail(1, "mount: target %s", path);
    return fd;
  }
  char rel[4096];
  size_t n = 0;
  int parent = fcntl(g_rootfd, F_DUPFD_CLOEXEC, 0);
  for (const char *p = path;;) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (n + len + 2 >= sizeof rel) fail(0, "mount: target path too long");
    rel[n++] = '/';
    memcpy(rel + n, p, len);
    n += len;
    rel[n] = '\0';
    p += len;
    int last = !e || !*(p + strspn(p, "/"));
    int cur = resolve_in_root(g_rootfd, rel, 0);
    if (cur < 0 && errno == ENOENT) {
      char name[256];
      if (len >= sizeof name) fail(0, "mount: path component too long in %s", path);
      memcpy(name, rel + n - len, len);
      name[len] = '\0';
      struct stat pst;
      if (fstatat(parent, "", &pst, AT_EMPTY_PATH) < 0) fail(1, "mount: stat parent of %s", rel);
      int dir = !last || isdir;
      if (dir ? mkdirat(parent, name, 0755) : close(openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644)))
        fail(1, "mount: cannot create mount point %s", rel);
      if (mnt_id(parent) == g_root_mnt) {
        /* The parent's times before the stub, and its mtime right after: at cleanup the old times come back only
         * if nothing but the stub changed the directory (the command may have changed it too). */
        struct stat post;
        if (fstatat(parent, "", &post, AT_EMPTY_PATH) < 0) fail(1, "mount: stat parent of %s", rel);
        char rec[4200];
        int k = snprintf(rec, sizeof rec, "%c %lld %ld %lld %ld %lld %ld %s\n", dir ? 'd' : 'f', (long long)pst.st_mtim.tv_sec,
                         pst.st_mtim.tv_nsec, (long long)pst.st_atim.tv_sec, pst.st_atim.tv_nsec,
                         (long long)post.st_mtim.tv_sec, post.st_mtim.tv_nsec, rel);
        write_all(g_stubfd, rec, (size_t)k);
      }
      cur = resolve_in_root(g_rootfd, rel, 0);
    }
    if (cur < 0) fail(1, "mount: target %s", rel);
    close(parent);
    parent = cur;
  }
  return parent;
}

static void do_mount(const char *src, int tfd, const char *type, unsigned long flags, const char *data, const char *what) {
  if (mount(src, fdpath(tfd), type, flags, data) < 0) fail(1, "mount: %s", what);
}

/* Make the mount now at `path` read-only (recursively), keeping its other (possibly locked) flags. */
static void make_ro(const char *path) {
  int fd = resolve_in_root(g_rootfd, path, 0);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (fd < 0 || syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    fail(1, "mount: make %s read-only", path);
  close(fd);
}

static void setup_dev(void) {
  int dev = ensure("/dev", 1);
  do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k", "tmpfs on /dev");
  close(dev);
  dev = resolve_in_root(g_rootfd, "/dev", O_DIRECTORY);
  const char *nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (unsigned i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    char host[32];
    snprintf(host, sizeof host, "/dev/%s", nodes[i]);
    int f = openat(dev, nodes[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (f < 0) fail(1, "mount: create /dev/%s", nodes[i]);
    close(f);
    f = openat(dev, nodes[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
    do_mount(host, f, NULL, MS_BIND, NULL, host);
    close(f);
  }
  if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0) fail(1, "mount: mkdir in /dev");
  int pts = openat(dev, "pts", O_PATH | O_CLOEXEC | O_DIRECTORY);
  do_mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", "devpts on /dev/pts");
  int shm = openat(dev, "shm", O_PATH | O_CLOEXEC | O_DIRECTORY);
  do_mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", "tmpfs on /dev/shm");
  const char *links[][2] = {{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0) fail(1, "mount: symlink /dev/%s", links[i][1]);
  close(pts);
  close(shm);
  close(dev);
}

/* Files given by content or copied from the host live on a private tmpfs, mounted at /proc until proc replaces it. */
static void stage_files(struct run_spec *s, int procfd) {
  int any = 0;
  for (int i = 0; i < s->nmounts; i++) any |= s->mounts[i].kind == M_COPY || s->mounts[i].kind == M_WRITE;
  if (!any) return;
  do_mount("tsbuild-files", procfd, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700,size=16m", "staging tmpfs");
  int stage = resolve_in_root(g_rootfd, "/proc", O_DIRECTORY);
  for (int i = 0; i < s->nmounts; i++) {
    struct run_mount *m = &s->mounts[i];
    if (m->kind != M_COPY && m->kind != M_WRITE) continue;
    char name[32];
    snprintf(name, sizeof name, "f%d", i);
    int out = openat(stage, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (out < 0) fail(1, "mount: stage %s", m->dst);
    if (m->kind == M_WRITE) {
      if (write_all(out, m->content, strlen(m->content)) < 0) fail(1, "mount: write %s", m->dst);
    } else {
      int in = open(m->src, O_RDONLY | O_CLOEXEC);
      if (in < 0) fail(1, "mount: read %s for %s", m->src, m->dst);
      char buf[65536];
      ssize_t r;
      while ((r = read(in, buf, sizeof buf)) > 0)
        if (write_all(out, buf, (size_t)r) < 0) fail(1, "mount: write %s", m->dst);
      if (r < 0) fail(1, "mount: read %s", m->src);
      close(in);
    }
    if (fchown(out, (uid_t)m->uid, (gid_t)m->gid) < 0) fail(1, "mount: chown %s to %ld:%ld", m->dst, m->uid, m->gid);
    if (fchmod(out, (mode_t)m->mode) < 0) fail(1, "mount: chmod %s", m->dst);
    close(out);
  }
  close(stage);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail(1, "setup: loopback flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail(1, "setup: bring loopback up");
  close(s);
}

void container_main(struct run_spec *s, int stubfd, const sigset_t *orig_mask) {
  g_stubfd = stubfd;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail(1, "setup: prctl");
  umask(022);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail(1, "setup: make / private");
  if (s->net_none) loopback_up();
  if (sethostname(s->hostname, strlen(s->hostname)) < 0) fail(1, "setup: sethostname %s", s->hostname);
  if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) fail(1, "setup: bind rootfs %s", s->rootfs);
  g_rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_rootfd < 0) fail(1, "setup: open rootfs %s", s->rootfs);
  g_root_mnt = mnt_id(g_rootfd);
  setup_dev();
  int procfd = ensure("/proc", 1);
  stage_files(s, procfd);
  for (int i = 0; i < s->nmounts; i++) {
    struct run_mount *m = &s->mounts[i];
    if (m->kind == M_TMPFS) {
      char data[64];
      snprintf(data, sizeof data, "size=%ld,mode=%lo", m->size, m->mode);
      int t = ensure(m->dst, 1);
      do_mount("tmpfs", t, "tmpfs", MS_NOSUID | MS_NODEV, data, m->dst);
      close(t);
      continue;
    }
    const char *src = m->src;
    char staged[96];
    if (m->kind == M_COPY || m->kind == M_WRITE) {
      int sf = resolve_in_root(g_rootfd, "/proc", O_DIRECTORY);
      snprintf(staged, sizeof staged, "/proc/self/fd/%d/f%d", sf, i);
      src = staged;
    }
    struct stat st;
    if (stat(src, &st) < 0) fail(1, "mount: source %s of %s", m->src ? m->src : "(staged)", m->dst);
    int t = ensure(m->dst, S_ISDIR(st.st_mode));
    do_mount(src, t, NULL, MS_BIND | MS_REC, NULL, m->dst);
    close(t);
    if (m->ro) make_ro(m->dst);
  }
  if (umount2(fdpath(resolve_in_root(g_rootfd, "/proc", O_DIRECTORY)), MNT_DETACH) < 0 && errno != EINVAL)
    fail(1, "setup: unmount staging");
  do_mount("proc", procfd, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc on /proc");
  close(procfd);
  close(g_stubfd);
  if (fchdir(g_rootfd) < 0) fail(1, "setup: chdir rootfs");
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(1, "setup: pivot_root");
  if (umount2(".", MNT_DETACH) < 0) fail(1, "setup: detach the old root");
  if (chdir("/") < 0) fail(1, "setup: chdir /");
  struct exec_user u;
  resolve_user(s->user, &u);
  make_cwd(s->cwd, u.uid, u.gid);
  if (s->readonly) {
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &attr, sizeof attr) < 0) fail(1, "setup: read-only rootfs");
  }
  exec_and_reap(s, &u, orig_mask);
}
