/**
 * RUN --mount points as Docker 20.10 leaves them: its runtime creates every missing mount target (a directory for
 * a directory mount, the parents of a file mount) in the rootfs, 0755 root:root, and they stay in the RUN's layer;
 * only the empty file stubs of file mounts go, and their directory keeps the time of that change. The sandbox
 * removes the stubs it had to create and restores their parents' times, so the mount points are made here, before
 * the run, where the sandbox finds them, and the file stubs are removed by removeFileStubs after it.
 */
import { chmod, lstat, mkdir, open, stat, unlink } from "node:fs/promises";
import type { Mount } from "../executor/index.js";
import { components, lstatOrNull, resolveInRoot } from "./file-root-path.js";
import { join } from "node:path";

/** Whether the mount puts a directory (tmpfs, bind of a directory) or a single file (secret, bind of a file) at its target. */
export async function mountsDirectory(m: Mount): Promise<boolean> {
  if (m.type === "tmpfs") return true;
  if (m.type === "secret") return false;
  return (await stat(m.source)).isDirectory();
}

/**
 * Create the mount targets that the rootfs at `rootfs` lacks, as Docker 20.10's runtime does (symlinks on the way
 * resolved inside the rootfs, directories 0755, owned by the caller: session root). A file mount gets its parents
 * and an empty file stub; a target that exists is left alone, whatever it is. Returns the host paths of the file
 * stubs made, for removeFileStubs.
 */
export async function createMountPoints(rootfs: string, mounts: readonly Mount[]): Promise<string[]> {
  const stubs: string[] = [];
  for (const m of mounts) {
    const parts = components(m.target);
    if (parts.length === 0) continue;
    const isDir = await mountsDirectory(m);
    const { rel } = await resolveInRoot(rootfs, `/${parts.join("/")}`);
    // Walk down the resolved path creating what is missing; anything that exists (even a non-directory, which
    // the sandbox reports) is left as it is.
    const names = components(rel);
    let cur = rootfs;
    for (const [i, name] of names.entries()) {
      cur = join(cur, name);
      const st = await lstatOrNull(cur);
      if (st) {
        if (!st.isDirectory()) break;
        continue;
      }
      if (i === names.length - 1 && !isDir) {
        await (await open(cur, "wx", 0o644)).close();
        stubs.push(cur);
        break;
      }
      await mkdir(cur, { mode: 0o755 });
      await chmod(cur, 0o755);
    }
  }
  return stubs;
}

/** Remove the file stubs createMountPoints made, each only if it is still an empty regular file. */
export async function removeFileStubs(stubs: readonly string[]): Promise<void> {
  for (const p of [...stubs].reverse()) {
    const st = await lstat(p).catch(() => null);
    if (st?.isFile() && st.size === 0) await unlink(p);
  }
}
