/**
 * Driver selection: try an overlay mount (with userxattr, then without) in a scratch dir under the root once
 * per process and root, and fall back to the copy driver, keeping the reason for the report. A working probe is
 * remembered in the root until the next boot (or another kernel, filesystem or id mapping).
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile, lstat } from "node:fs/promises";
import { join } from "node:path";
import { CopySnapshotter } from "./copy.js";
import { SnapshotError } from "./errors.js";
import { mountFs, umountFs } from "./native.js";
import { OverlaySnapshotter, overlayOptions } from "./overlay.js";
import type { Snapshotter } from "./types.js";

export interface SnapshotterOptions {
  /** `auto` probes overlayfs and falls back to copying. @default "auto" */
  readonly driver?: "auto" | "overlay" | "copy";
  /** Overlay only: lowerdirs mounted at once before flattening. @default 128 */
  readonly maxLowers?: number;
}

export interface OverlayProbe {
  readonly ok: boolean;
  readonly userxattr: boolean;
  readonly reason: string;
}

const probes = new Map<string, Promise<OverlayProbe>>();

/** Can overlayfs be mounted here (in this process's namespaces)? Cached per root. */
export function probeOverlay(root: string): Promise<OverlayProbe> {
  let p = probes.get(root);
  if (!p) {
    p = runProbe(root);
    probes.set(root, p);
  }
  return p;
}

/** Where a successful probe is remembered. */
export const PROBE_FILE = "overlay-probe.json";

/**
 * What a remembered probe is valid for: this boot, kernel, filesystem of the root and id mapping (a probe made
 * as real root says nothing about a user namespace session, and a remount of the root's filesystem may change).
 */
export async function probeKey(root: string): Promise<string | undefined> {
  try {
    const [boot, kernel, uidMap, st] = await Promise.all([
      readFile("/proc/sys/kernel/random/boot_id", "utf8"),
      readFile("/proc/sys/kernel/osrelease", "utf8"),
      readFile("/proc/self/uid_map", "utf8"),
      stat(root),
    ]);
    return JSON.stringify([boot.trim(), kernel.trim(), uidMap.trim().split(/\s+/).join(" "), st.dev, st.ino]);
  } catch {
    return undefined;
  }
}

async function runProbe(root: string): Promise<OverlayProbe> {
  await mkdir(root, { recursive: true });
  const key = await probeKey(root);
  const file = join(root, PROBE_FILE);
  if (key !== undefined) {
    try {
      const saved = JSON.parse(await readFile(file, "utf8")) as { key?: unknown; userxattr?: unknown };
      if (saved.key === key && typeof saved.userxattr === "boolean") {
        return { ok: true, userxattr: saved.userxattr, reason: `overlayfs${saved.userxattr ? " with userxattr" : ""}` };
      }
    } catch {
      // absent or unreadable: probe
    }
  }
  const probe = await mountProbe(root);
  if (probe.ok && key !== undefined) {
    // Only a working probe is remembered: a failure is cheap to find again and may be transient.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ key, userxattr: probe.userxattr }))
      .then(() => rename(tmp, file))
      .catch(() => rm(tmp, { force: true }));
  }
  return probe;
}

async function mountProbe(root: string): Promise<OverlayProbe> {
  const dir = await mkdtemp(join(root, "probe-"));
  try {
    await Promise.all(["l", "u", "w", "m"].map((d) => mkdir(join(dir, d))));
    await writeFile(join(dir, "l", "f"), "x");
    let last = "";
    for (const userxattr of [true, false]) {
      const opts = overlayOptions(userxattr, ["l"], { upper: "u", work: "w" });
      const r = await mountFs("overlay", "overlay", "m", opts, { cwd: dir });
      if (r.code !== 0) {
        last = r.stderr.split("\n")[0] ?? `mount exited ${r.code}`;
        continue;
      }
      try {
        await rm(join(dir, "m", "f"));
        const wh = await lstat(join(dir, "u", "f"));
        if (!wh.isCharacterDevice()) throw new Error("no whiteout");
      } catch (e) {
        last = `overlay mounted but whiteouts do not work (${(e as Error).message})`;
        continue;
      } finally {
        await umountFs(join(dir, "m"));
      }
      return { ok: true, userxattr, reason: `overlayfs${userxattr ? " with userxattr" : ""}` };
    }
    return { ok: false, userxattr: false, reason: `copy driver: overlay mount failed: ${last}` };
  } catch (e) {
    return { ok: false, userxattr: false, reason: `copy driver: overlay probe failed: ${(e as Error).message}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Create the snapshotter for `root`: overlayfs when it works here, else the copy driver (see `report`). */
export async function createSnapshotter(root: string, options: SnapshotterOptions = {}): Promise<Snapshotter> {
  const driver = options.driver ?? "auto";
  if (driver === "copy") return new CopySnapshotter(root);
  const probe = await probeOverlay(root);
  if (!probe.ok) {
    if (driver === "overlay") {
      throw new SnapshotError("TSB_SNAPSHOT_NO_OVERLAY", `overlayfs is not usable under ${root}: ${probe.reason}`, "run inside `tsbuild unshare`, or use the copy driver");
    }
    return new CopySnapshotter(root, probe.reason);
  }
  return new OverlaySnapshotter(root, { userxattr: probe.userxattr, maxLowers: options.maxLowers, reason: probe.reason });
}
