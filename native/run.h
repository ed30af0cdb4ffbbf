/* Shared by run.c (the host side), container.c (mounts, pivot_root) and process.c (user, exec, init). */
#ifndef TSBUILD_RUN_H
#define TSBUILD_RUN_H
#include <signal.h>
#include <sys/types.h>

#define MAX_MOUNTS 256
enum { M_BIND, M_TMPFS, M_COPY, M_WRITE };

struct run_mount {
  int kind, ro;
  const char *src, *dst, *content;
  long size, mode, uid, gid;
};

struct run_spec {
  const char *rootfs, *hostname, *cwd, *user;
  int net_none, readonly, nmounts;
  struct run_mount mounts[MAX_MOUNTS];
  char **args;
};

struct exec_user {
  uid_t uid;
  gid_t gid;
  int ngroups;
  gid_t groups[64];
};

/* openat2(rootfd, path, O_PATH|extra, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); path may start with '/'. */
int resolve_in_root(int rootfd, const char *path, int extra_flags);
/* C: never returns. */
void container_main(struct run_spec *spec, int stubfd, const sigset_t *orig_mask) __attribute__((noreturn));
/* Resolve "uid[:gid]" / "name[:group]" with the container's /etc/passwd and /etc/group (after pivot_root). */
void resolve_user(const char *spec, struct exec_user *out);
/* mkdir -p inside the container; directories created are owned by uid:gid. */
void make_cwd(const char *cwd, uid_t uid, gid_t gid);
/* Fork the command and act as PID 1 until it exits; never returns. */
void exec_and_reap(struct run_spec *spec, const struct exec_user *u, const sigset_t *orig_mask) __attribute__((noreturn));
#endif
