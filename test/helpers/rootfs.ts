/**
 * A tiny rootfs tar for image tests: static busybox (Debian `busybox-static`) with a few applet links and
 * /etc/passwd, built reproducibly with GNU tar. Uses test/helpers/base-images.ts `busyboxRootfsTar()` when present.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let cached: Buffer | undefined;

/** Bytes of an uncompressed rootfs tar containing bin/busybox, bin/sh, etc/passwd, hello.txt. */
export async function tinyRootfsTar(): Promise<Buffer> {
  if (cached) return cached;
  if (!existsSync("/bin/busybox")) throw new Error("/bin/busybox is missing: apt-get install busybox-static");
  const dir = mkdtempSync(join(tmpdir(), "tsb-rootfs-"));
  try {
    const fs = join(dir, "rootfs");
    for (const d of ["bin", "etc", "tmp"]) mkdirSync(join(fs, d), { recursive: true });
    chmodSync(join(fs, "tmp"), 0o1777);
    copyFileSync("/bin/busybox", join(fs, "bin", "busybox"));
    chmodSync(join(fs, "bin", "busybox"), 0o755);
    for (const a of ["sh", "ls", "cat", "echo"]) symlinkSync("busybox", join(fs, "bin", a));
    writeFileSync(join(fs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
    writeFileSync(join(fs, "hello.txt"), "hello from tsbuild\n");
    const out = join(dir, "rootfs.tar");
    execFileSync("tar", ["--sort=name", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-C", fs, "-cf", out, "."]);
    cached = readFileSync(out);
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
