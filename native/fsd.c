/* tsbuild-fsd: the snapshot room's filesystem co-process. One per tsbuild process, started on first use, so that
 * mount, umount, xattrs and mknod are single syscalls instead of a fork+exec of mount/getfattr/setfattr/mknod each.
 * It lives in the caller's user and mount namespaces (it is its child), so its mounts are the caller's mounts.
 *
 * Protocol (little-endian, pipelined; requests are answered strictly in order):
 *   request  = u32 len, u8 op, fields...          (len counts op + fields)
 *   response = u32 len, i32 errno, payload        (len counts errno + payload; errno 0 = success)
 *   a field  = u32 n, n bytes, one 0 byte         (paths and names must not contain 0; values may)
 * On failure the payload is a message (strerror, maybe prefixed with the path it is about).
 *   PING       -> "tsbuild-fsd 1"
 *   MOUNT      cwd fstype source target u32:flags data   (chdir(cwd) first when cwd is not empty)
 *   UMOUNT     target u32:flags                          (umount2: MNT_DETACH = `umount -l`)
 *   XATTRS     u32:n path*n   -> records of the paths that have attributes (lstat-like: symlinks not followed)
 *   XATTR_TREE dir            -> records of dir and everything below it (physical walk, like getfattr -R -P)
 *   SETXATTRS  u32:n (path name value)*n   lsetxattr each; all are tried, the first failure is reported
 *   MKNOD      path u32:mode u32:major u32:minor   (mode includes the file type; exact, no umask)
 *   CLONE      src dst   hard-link clone of src's tree into the empty dir dst, as `cp -a -l src/. dst` (fsd-clone.c)
 *   LSTAT_DIR  dir   -> the lstat of every child of dir (opened with O_NOFOLLOW), in readdir order, as records
 *              u32:errno u32:namelen name u32:mode u32:uid u32:gid u64:nlink u64:dev u64:ino u64:size u64:rdev
 *              i64:mtime_sec u32:mtime_nsec i64:ctime_sec u32:ctime_nsec   (errno != 0: only name follows it;
 *              a child gone since readdir is left out)
 *   record     = path u32:count (name value)*count
 * stdin at EOF (the caller exited) ends the process; so does the death of the parent (PDEATHSIG: it follows the
 * thread that spawned us, which for tsbuild is Node's main thread). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "fsd-clone.h"

enum { OP_PING = 0, OP_MOUNT = 1, OP_UMOUNT = 2, OP_XATTRS = 3, OP_XATTR_TREE = 4, OP_SETXATTRS = 5, OP_MKNOD = 6, OP_CLONE = 7, OP_LSTAT_DIR = 8 };

#define MAX_REQUEST (1u << 30)
#define XATTR_MAX 65536 /* XATTR_SIZE_MAX and XATTR_LIST_MAX of Linux */

typedef struct {
  unsigned char *p;
  size_t len, cap;
} buf_t;

static buf_t out;
static char names[XATTR_MAX + 1];
static char value[XATTR_MAX];
static int home_fd = -1;

static void die(const char *what) {
  fprintf(stderr, "tsbuild-fsd: %s: %s\n", what, strerror(errno));
  _exit(1);
}

static void reserve(size_t more) {
  if (out.len + more <= out.cap) return;
  size_t cap = out.cap ? out.cap : 65536;
  while (cap < out.len + more) cap *= 2;
  unsigned char *p = realloc(out.p, cap);
  if (!p) die("out of memory");
  out.p = p;
  out.cap = cap;
}

static void put(const void *p, size_t n) {
  reserve(n);
  memcpy(out.p + out.len, p, n);
  out.len += n;
}

static void put_u32(uint32_t v) {
  unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
  put(b, 4);
}

static void set_u32(size_t at, uint32_t v) {
  out.p[at] = v & 0xff;
  out.p[at + 1] = (v >> 8) & 0xff;
  out.p[at + 2] = (v >> 16) & 0xff;
  out.p[at + 3] = v >> 24;
}

static void put_field(const void *p, size_t n) {
  put_u32((uint32_t)n);
  put(p, n);
  put("", 1);
}

/* A request being decoded; `bad` is set once a field runs past the end or a string holds a 0 byte. */
typedef struct {
  unsigned char *p;
  size_t left;
  int bad;
} req_t;

static uint32_t get_u32(req_t *r) {
  if (r->bad || r->left < 4) {
    r->bad = 1;
    return 0;
  }
  uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  r->left -= 4;
  return v;
}

/* The next field, 0-terminated in place; *len_out (when given) gets its length. Strings (no len_out) must not hold 0. */
static char *get_field(req_t *r, size_t *len_out) {
  uint32_t n = get_u32(r);
  if (r->bad || r->left < (size_t)n + 1 || r->p[n] != 0 || (!len_out && memchr(r->p, 0, n))) {
    r->bad = 1;
    return (char *)"";
  }
  char *s = (char *)r->p;
  r->p += (size_t)n + 1;
  r->left -= (size_t)n + 1;
  if (len_out) *len_out = n;
  return s;
}

/* Start a response: length placeholder + errno. */
static void begin(void) {
  out.len = 0;
  put_u32(0);
  put_u32(0);
}

static void fail_with(int err, const char *prefix) {
  out.len = 0;
  put_u32(0);
  put_u32((uint32_t)err);
  if (prefix && *prefix) {
    put(prefix, strlen(prefix));
    put(": ", 2);
  }
  const char *msg = strerror(err);
  put(msg, strlen(msg));
}

/* Append the record of `path` when it has attributes. Unreadable paths and attributes are left out, as getfattr does. */
static void record(const char *path) {
  ssize_t n = llistxattr(path, names, XATTR_MAX);
  if (n <= 0) return;
  names[n] = 0;
  put_field(path, strlen(path));
  size_t count_at = out.len;
  put_u32(0);
  uint32_t count = 0;
  for (char *name = names; name < names + n; name += strlen(name) + 1) {
    if (!*name) continue;
    ssize_t v = lgetxattr(path, name, value, sizeof value);
    if (v < 0) continue;
    put_field(name, strlen(name));
    put_field(value, (size_t)v);
    count++;
  }
  set_u32(count_at, count);
}

static int tree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  record(path);
  return 0;
}

static void op_mount(req_t *r) {
  char *cwd = get_field(r, NULL), *fstype = get_field(r, NULL), *source = get_field(r, NULL), *target = get_field(r, NULL);
  uint32_t flags = get_u32(r);
  char *data = get_field(r, NULL);
  if (r->bad) { fail_with(EINVAL, "bad request"); return; }
  if (*cwd && chdir(cwd) < 0) { fail_with(errno, cwd); return; }
  int rc = mount(source, target, fstype, flags, *data ? data : NULL);
  int err = errno;
  if (*cwd && fchdir(home_fd) < 0) die("fchdir back");
  if (rc < 0) { fail_with(err, NULL); return; }
  begin();
}

static void op_umount(req_t *r) {
  char *target = get_field(r, NULL);
  uint32_t flags = get_u32(r);
  if (r->bad) { fail_with(EINVAL, "bad request"); return; }
  if (umount2(target, (int)flags) < 0) { fail_with(errno, NULL); return; }
  begin();
}

static void op_xattrs(req_t *r) {
  uint32_t n = get_u32(r);
  begin();
  for (uint32_t i = 0; i < n && !r->bad; i++) record(get_field(r, NULL));
  if (r->bad) fail_with(EINVAL, "bad request");
}

static void op_xattr_tree(req_t *r) {
  char *dir = get_field(r, NULL);
  if (r->bad) { fail_with(EINVAL, "bad request"); return; }
  begin();
  nftw(dir, tree_entry, 32, FTW_PHYS); /* a missing or unreadable dir lists as nothing, as getfattr's output does */
}

static void op_setxattrs(req_t *r) {
  uint32_t n = get_u32(r);
  int first_err = 0;
  char *first_path = NULL;
  for (uint32_t i = 0; i < n && !r->bad; i++) {
    char *path = get_field(r, NULL), *name = get_field(r, NULL);
    size_t len = 0;
    char *val = get_field(r, &len);
    if (r->bad) break;
    if (lsetxattr(path, name, val, len, 0) < 0 && !first_err) {
      first_err = errno;
      first_path = path;
    }
  }
  if (r->bad) { fail_with(EINVAL, "bad request"); return; }
  if (first_err) { fail_with(first_err, first_path); return; }
  begin();
}

static void op_mknod(req_t *r) {
  char *path = get_field(r, NULL);
  uint32_t mode = get_u32(r), major = get_u32(r), minor = get_u32(r);
  if (r->bad) { fail_with(EINVAL, "bad request"); return; }
  if (mknod(path, (mode_t)mode, makedev(major, minor)) < 0) { fail_with(errno, path); return; }
  begin();
}

static void op_clone(req_t *r) {
  char *src = get_field(r, NULL), *dst = get_field(r, NULL);
  if (r->bad) { fail_with(EINVAL, "bad request"); return; }
  char where[256] = "";
  int err = fsd_clone(src, dst, where, sizeof where);
  if (err) { fail_with(err, where); return; }
  begin();
}

static void put_u64(uint64_t v) {
  put_u32((uint32_t)v);
  put_u32((uint32_t)(v >> 32));
}

static void op_lstat_dir(req_t *r) {
  char *dir = get_field(r, NULL);
  if (r->bad) { fail_with(EINVAL, "bad request"); return; }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    int err = errno;
    if (fd >= 0) close(fd);
    fail_with(err, NULL);
    return;
  }
  begin();
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    struct stat st;
    int err = fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
    if (err == ENOENT) continue;
    size_t len = strlen(n);
    put_u32((uint32_t)err);
    put_u32((uint32_t)len);
    put(n, len);
    if (!err) {
      put_u32(st.st_mode);
      put_u32(st.st_uid);
      put_u32(st.st_gid);
      put_u64(st.st_nlink);
      put_u64(st.st_dev);
      put_u64(st.st_ino);
      put_u64((uint64_t)st.st_size);
      put_u64(st.st_rdev);
      put_u64((uint64_t)st.st_mtim.tv_sec);
      put_u32((uint32_t)st.st_mtim.tv_nsec);
      put_u64((uint64_t)st.st_ctim.tv_sec);
      put_u32((uint32_t)st.st_ctim.tv_nsec);
    }
    errno = 0;
  }
  int err = errno;
  closedir(d);
  if (err) fail_with(err, NULL);
}

static int read_full(unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t got = read(0, p, n);
    if (got == 0) return 0;
    if (got < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    p += got;
    n -= (size_t)got;
  }
  return 1;
}

static void write_full(const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(0); /* the caller is gone */
    }
    p += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: tsbuild-fsd (internal co-process of tsbuild; speaks a binary protocol on stdin/stdout)\n");
    return 2;
  }
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) return 0;
  signal(SIGPIPE, SIG_IGN);
  umask(0);
  home_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (home_fd < 0) home_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  unsigned char *in = NULL;
  size_t in_cap = 0;
  for (;;) {
    unsigned char hdr[4];
    if (!read_full(hdr, 4)) return 0;
    uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    if (len < 1 || len > MAX_REQUEST) {
      fprintf(stderr, "tsbuild-fsd: bad request length %u\n", len);
      return 1;
    }
    if (len > in_cap) {
      free(in);
      in_cap = len;
      in = malloc(in_cap);
      if (!in) die("out of memory");
    }
    if (!read_full(in, len)) return 0;
    req_t r = {in + 1, len - 1, 0};
    switch (in[0]) {
      case OP_PING:
        begin();
        put("tsbuild-fsd 1", 13);
        break;
      case OP_MOUNT: op_mount(&r); break;
      case OP_UMOUNT: op_umount(&r); break;
      case OP_XATTRS: op_xattrs(&r); break;
      case OP_XATTR_TREE: op_xattr_tree(&r); break;
      case OP_SETXATTRS: op_setxattrs(&r); break;
      case OP_MKNOD: op_mknod(&r); break;
      case OP_CLONE: op_clone(&r); break;
      case OP_LSTAT_DIR: op_lstat_dir(&r); break;
      default: fail_with(ENOSYS, "unknown operation"); break;
    }
    set_u32(0, (uint32_t)(out.len - 4));
    write_full(out.p, out.len);
    if (out.cap > (16u << 20)) { /* do not keep a huge tree listing's buffer for the rest of the build */
      free(out.p);
      out.p = NULL;
      out.cap = 0;
    }
  }
}
