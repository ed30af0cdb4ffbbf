/**
 * What the OCI runtime adds to a RUN process besides the op's own environment and mounts, as runc does for Docker's
 * BuildKit: HOME from the rootfs' /etc/passwd when the environment has none (runc's setupUser), and the /etc
 * mount-point stubs for /etc/hosts and /etc/resolv.conf (runc creates them when missing and BuildKit removes them
 * again, which leaves /etc with a build-time mtime in the layer).
 */
import { lstat, open, utimes } from "node:fs/promises";
import { join } from "node:path";
import { resolveInRoot } from "./file-root-path.js";

/** Larger /etc/passwd files are not read for HOME (the default "/" is used). */
const MAX_PASSWD = 4 * 1024 * 1024;

/**
 * runc's HOME for `user` (`name[:group]` or `uid[:gid]`; "" is root): the home field of the first /etc/passwd entry
 * whose name, or uid, is the user part; "/" when there is no such entry or no readable /etc/passwd.
 */
export async function passwdHome(rootfs: string, user: string): Promise<string> {
  const u = user.split(":")[0] || "0";
  let text: string;
  try {
    const p = await resolveInRoot(rootfs, "/etc/passwd");
    const fh = await open(p.path, "r");
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_PASSWD) return "/";
      text = (await fh.readFile()).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch {
    return "/";
  }
  for (const line of text.split("\n")) {
    const f = line.trim().split(":");
    if (f.length < 6 || line.trim().startsWith("#")) continue;
    if (f[0] === u || (/^[0-9]+$/.test(u) && f[2] === String(Number(u)))) return f[5] || "/";
  }
  return "/";
}

/** `env` with `HOME=<passwd home>` appended when it sets no HOME. */
export async function withDefaultHome(env: readonly string[], rootfs: string, user: string): Promise<string[]> {
  if (env.some((e) => e.startsWith("HOME="))) return [...env];
  return [...env, `HOME=${await passwdHome(rootfs, user)}`];
}

/** The /etc mount points the runtime needs; when one is missing, runc creates it (and BuildKit deletes it after). */
const ETC_STUBS = ["hosts", "resolv.conf"] as const;

/**
 * Before a RUN: whether the runtime would have had to create a mount-point stub in the rootfs' /etc (a real
 * directory lacking /etc/hosts or /etc/resolv.conf).
 */
export async function needsEtcStubs(rootfs: string): Promise<boolean> {
  const etc = join(rootfs, "etc");
  const st = await lstat(etc).catch(() => null);
  if (st === null || !st.isDirectory()) return false;
  for (const name of ETC_STUBS) {
    if ((await lstat(join(etc, name)).catch(() => null)) === null) return true;
  }
  return false;
}

/** After a RUN that needed stubs: /etc's mtime is the time they were created and removed (now), as in Docker. */
export async function touchEtc(rootfs: string, when: Date = new Date()): Promise<void> {
  const etc = join(rootfs, "etc");
  const st = await lstat(etc).catch(() => null);
  if (st === null || !st.isDirectory()) return;
  await utimes(etc, st.atime, when);
}
