/**
 * Base-image fixtures for tests: reproducible rootfs tars built from Debian packages of this machine, cached in
 * `TSBUILD_TEST_CACHE` (default /tmp/tsbuild-test-cache) between test files and runs. The cache dir is 1777 and its
 * files 0644, built under a lock dir by whichever test (root or tsbuild-test) gets there first.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The shared cache directory of test fixtures. */
export function testCacheDir(): string {
  const dir = process.env.TSBUILD_TEST_CACHE || "/tmp/tsbuild-test-cache";
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    try {
      chmodSync(dir, 0o1777);
    } catch {
      // created concurrently by another user: fine
    }
  }
  return dir;
}

/** Fail with a message naming the Debian package when a tool is missing. */
export function requireTool(tool: string, pkg: string): string {
  for (const d of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    const p = join(d, tool);
    if (existsSync(p)) return p;
  }
  throw new Error(`test needs '${tool}', which is not installed: apt-get install ${pkg} (or run scripts/setup.sh)`);
}

const LOCK_STALE_MS = 15 * 60 * 1000;

/** Build `name` in the cache with `build(tmpPath)` unless present; one builder at a time across processes/users. */
export async function cached(name: string, build: (tmpPath: string) => Promise<void> | void): Promise<string> {
  const dir = testCacheDir();
  const out = join(dir, name);
  if (existsSync(out)) return out;
  const lock = `${out}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (existsSync(out)) return out;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // raced with its owner
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (existsSync(out)) return out;
    const tmp = `${out}.${process.pid}.tmp`;
    rmSync(tmp, { force: true, recursive: true });
    await build(tmp);
    chmodSync(tmp, 0o644);
    renameSync(tmp, out);
    return out;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP = "root:x:0:\nstaff:x:50:app\nusers:x:100:app\napp:x:1000:\nnogroup:x:65534:\n";

/**
 * A reproducible busybox rootfs tar (Debian busybox-static): /bin/busybox + applet symlinks, /etc/passwd with root,
 * app (1000, also in groups staff 50 and users 100) and nobody, /etc/group, /tmp 1777, /root 700.
 */
export function busyboxRootfsTar(): Promise<string> {
  return cached("busybox-rootfs.tar", (tmp) => {
    const busybox = "/bin/busybox";
    if (!existsSync(busybox)) throw new Error("test needs /bin/busybox: apt-get install busybox-static (or run scripts/setup.sh)");
    const stage = mkdtempSync(join(tmpdir(), "tsbuild-bb-"));
    try {
      for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "home/app", "tmp", "root"]) mkdirSync(join(stage, d), { recursive: true });
      copyFileSync(busybox, join(stage, "bin/busybox"));
      chmodSync(join(stage, "bin/busybox"), 0o755);
      const applets = execFileSync(busybox, ["--list-full"], { encoding: "utf8" }).split("\n").filter(Boolean);
      for (const a of applets) {
        const p = join(stage, a);
        if (existsSync(p)) continue;
        mkdirSync(dirname(p), { recursive: true });
        symlinkSync("/bin/busybox", p);
      }
      writeFileSync(join(stage, "etc/passwd"), PASSWD);
      writeFileSync(join(stage, "etc/group"), GROUP);
      chmodAll(stage);
      chmodSync(join(stage, "tmp"), 0o1777);
      chmodSync(join(stage, "root"), 0o700);
      execFileSync("tar", ["--sort=name", "--format=gnu", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-C", stage, "-cf", tmp, "."]);
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  });
}

function chmodAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chmodAll(p);
    else if (e.isFile() && !p.endsWith("/bin/busybox")) chmodSync(p, 0o644);
  }
}

/** The Debian archive and security URIs this machine's apt uses (from /etc/apt/sources.list*). */
export function aptMirrors(): { archive: string; security: string } {
  const texts: string[] = [];
  for (const f of ["/etc/apt/sources.list"]) if (existsSync(f)) texts.push(readFileSync(f, "utf8"));
  const d = "/etc/apt/sources.list.d";
  if (existsSync(d)) for (const f of readdirSync(d).sort()) if (/\.(list|sources)$/.test(f)) texts.push(readFileSync(join(d, f), "utf8"));
  let archive: string | undefined;
  let security: string | undefined;
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1] ?? "";
      if (uri) classify(uri, suites);
    }
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) classify(m[1]!, m[2]!);
  }
  if (!archive) throw new Error("no Debian bookworm archive in /etc/apt/sources.list*: cannot build the minbase fixture");
  return { archive, security: security ?? archive.replace(/\/debian\/?$/, "/debian-security") };

  function classify(uri: string, suites: string): void {
    if (/\bbookworm-security\b/.test(suites)) security ??= uri;
    else if (/(^|\s)bookworm(\s|$)/.test(suites) && /debian/.test(uri)) archive ??= uri;
  }
}

/**
 * A Debian bookworm minbase rootfs tar (mmdebstrap, ~50 s the first time, ~170 MB) with the bookworm,
 * bookworm-updates and security sources of this machine's apt mirror.
 */
export function minbaseRootfsTar(): Promise<string> {
  return cached("debian-bookworm-minbase.tar", async (tmp) => {
    requireTool("mmdebstrap", "mmdebstrap");
    const { archive, security } = aptMirrors();
    const realRoot = readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/).join(" ") === "0 0 4294967295";
    const mode = process.getuid?.() === 0 ? "root" : "unshare";
    const args = [
      "--quiet", "--variant=minbase", `--mode=${mode}`, "--format=tar", "--skip=output/dev",
      ...(realRoot || mode === "unshare" ? [] : ["--skip=chroot/mount"]),
      "bookworm", tmp,
      `deb ${archive} bookworm main`, `deb ${archive} bookworm-updates main`, `deb ${security} bookworm-security main`,
    ];
    await new Promise<void>((resolve, reject) => {
      let err = "";
      const p = spawn("mmdebstrap", args, { stdio: ["ignore", "ignore", "pipe"] });
      p.stderr.on("data", (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
      p.on("error", reject);
      p.on("close", (c) => (c === 0 ? resolve() : reject(new Error(`mmdebstrap failed (exit ${c}):\n${err}`))));
    });
  });
}

/** Unpack a rootfs tar into `dir` (created), keeping owners: call as session root. */
export function unpackRootfs(tar: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["--numeric-owner", "--same-owner", "-xpf", tar, "-C", dir]);
  return dir;
}

/** A fresh temp dir holding the unpacked rootfs, and a function that removes it. */
export function tempRootfs(tar: string, prefix = "tsbuild-rootfs-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  unpackRootfs(tar, dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
