/**
 * Driver selection: try an overlay mount (with userxattr, then without) in a scratch dir under the root once
 * per process and root, and fall back to the copy driver, keeping the reason for the report.
 */
import { mkdir, mkdtemp, rm, writeFile, lstat } from "node:fs/promises";
import { join } from "node:path";
import { CopySnapshotter } from "./copy.js";
import { SnapshotError } from "./errors.js";
import { runTool } from "./native.js";
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

async function runProbe(root: string): Promise<OverlayProbe> {
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, "probe-"));
  try {
    await Promise.all(["l", "u", "w", "m"].map((d) => mkdir(join(dir, d))));
    await writeFile(join(dir, "l", "f"), "x");
    let last = "";
    for (const userxattr of [true, false]) {
      const opts = overlayOptions(userxattr, ["l"], { upper: "u", work: "w" });
      const r = await runTool("mount", ["-t", "overlay", "overlay", "-o", opts, "m"], { cwd: dir });
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
        await runTool("umount", [join(dir, "m")]);
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
