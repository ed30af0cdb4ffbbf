/* tsbuild-fsd's hard-link clone of a tree (fsd-clone.c). */
#ifndef TSBUILD_FSD_CLONE_H
#define TSBUILD_FSD_CLONE_H
#include <stddef.h>

/* Clone the tree under directory `src` into the existing empty directory `dst` as `cp -a -l src/. dst` does.
 * Returns 0, or an errno with `where` naming what it is about. */
int fsd_clone(const char *src, const char *dst, char *where, size_t where_len);

#endif
