import { describe, it, expect, afterEach } from "@jest/globals";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMountPoints, removeFileStubs } from "../../../src/ops/mount-points.js";

const dirs: string[] = [];
function scratch(): { rootfs: string; src: string } {
  const d = mkdtempSync(join(tmpdir(), "tsb-mountpoints-"));
  dirs.push(d);
  const rootfs = join(d, "rootfs");
  const src = join(d, "src");
  mkdirSync(join(rootfs, "real/inner"), { recursive: true });
  symlinkSync("/real", join(rootfs, "abs"));
  mkdirSync(join(src, "dir"), { recursive: true });
  writeFileSync(join(src, "file"), "x");
  return { rootfs, src };
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const mode = (p: string): string => (lstatSync(p).mode & 0o7777).toString(8);

describe("RUN --mount points as Docker 20.10 leaves them", () => {
  it("creates a directory mount's target and missing parents 0755, a file mount's parents and a stub", async () => {
    const { rootfs, src } = scratch();
    const stubs = await createMountPoints(rootfs, [
      { type: "bind", source: join(src, "dir"), target: "/deep/er/dir", readonly: true },
      { type: "tmpfs", target: "/t", size: 1 << 20 },
      { type: "bind", source: join(src, "file"), target: "/mnt/f.txt", readonly: true },
      { type: "secret", source: join(src, "file"), target: "/run/secrets/id", mode: 0o400, uid: 0, gid: 0 },
    ]);
    for (const d of ["deep", "deep/er", "deep/er/dir", "t", "mnt", "run", "run/secrets"]) expect([d, mode(join(rootfs, d))]).toEqual([d, "755"]);
    expect(stubs).toEqual([join(rootfs, "mnt/f.txt"), join(rootfs, "run/secrets/id")]);
    expect(lstatSync(stubs[0]!).size).toBe(0);
    await removeFileStubs(stubs);
    expect(existsSync(stubs[0]!) || existsSync(stubs[1]!)).toBe(false);
    expect(existsSync(join(rootfs, "run/secrets"))).toBe(true);
  });

  it("resolves symlinks inside the rootfs and leaves existing targets and non-empty files alone", async () => {
    const { rootfs, src } = scratch();
    utimesSync(join(rootfs, "real/inner"), 1000, 1000);
    const stubs = await createMountPoints(rootfs, [
      { type: "bind", source: join(src, "dir"), target: "/abs/inner", readonly: true },
      { type: "bind", source: join(src, "dir"), target: "/abs/new", readonly: true },
      { type: "bind", source: join(src, "file"), target: "/abs/f", readonly: true },
    ]);
    expect(lstatSync(join(rootfs, "real/inner")).mtimeMs).toBe(1000_000);
    expect(lstatSync(join(rootfs, "real/new")).isDirectory()).toBe(true);
    expect(lstatSync(join(rootfs, "abs")).isSymbolicLink()).toBe(true);
    writeFileSync(stubs[0]!, "written by the run");
    await removeFileStubs(stubs);
    expect(existsSync(join(rootfs, "real/f"))).toBe(true);
  });
});
