/**
 * Overlayfs driver. Snapshot `<id>/fs` is the upperdir of an active snapshot and stays, once committed, a
 * lowerdir of its children. Mounts run with the snapshots dir as cwd and relative lowerdirs ("12/fs:7/fs") so
 * the option string stays far below the page-size limit; chains deeper than `maxLowers` are flattened once
 * (`<id>/flat` = the merged view, copied with cp -a) and reused as a single lower from then on.
 */
import { existsSync } from "node:fs";
import { lstat, mkdir, rename, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { SnapshotDb } from "./db.js";
import { SnapshotError } from "./errors.js";
import { copyTree, linkTree, mknod, mountFs, mustUmount } from "./native.js";
import type { ApplyTarget, DiffSource, SnapshotInfo, Snapshotter, SnapshotterReport } from "./types.js";
import { walkUpper } from "./walk.js";

export interface OverlayOptions {
  /** Mount with `userxattr` (required inside a user namespace; opaque dirs use `user.overlay.opaque`). */
  readonly userxattr: boolean;
  /**
   * Longest chain of lowerdirs mounted at once before the parent is flattened. Kernel limit is 500.
   * @default 128
   */
  readonly maxLowers?: number;
  readonly reason?: string;
}

/** Overlay mount options for a given lowerdir list. */
export function overlayOptions(userxattr: boolean, lowers: readonly string[], upper?: { upper: string; work: string }): string {
  const opts = [`lowerdir=${lowers.join(":")}`];
  if (upper) opts.push(`upperdir=${upper.upper}`, `workdir=${upper.work}`);
  else opts.unshift("ro");
  // metacopy would leave data-less files in upperdirs; index is useless without it. userxattr implies no redirects.
  opts.push("index=off", "metacopy=off", userxattr ? "userxattr" : "redirect_dir=off");
  return opts.join(",");
}

export class OverlaySnapshotter implements Snapshotter {
  readonly report: SnapshotterReport;
  readonly #db: SnapshotDb;
  readonly #userxattr: boolean;
  readonly #maxLowers: number;
  /** key → absolute mountpoint, for everything this instance mounted and has not unmounted. */
  readonly #mounted = new Map<string, string>();
  /** key → read-only view of the parent mounted for applyTarget(); unmounted by commit/remove/close. */
  readonly #applyLowers = new Map<string, string>();
  #template: Promise<string> | undefined;

  constructor(root: string, options: OverlayOptions) {
    this.#db = new SnapshotDb(root);
    this.#userxattr = options.userxattr;
    this.#maxLowers = Math.max(2, Math.min(options.maxLowers ?? 128, 400));
    this.report = { driver: "overlay", reason: options.reason ?? `overlayfs${options.userxattr ? " with userxattr" : ""}` };
  }

  async prepare(key: string, parent?: string): Promise<SnapshotInfo> {
    await this.#db.load();
    const rec = await this.#db.create(key, "active", parent, async (dir) => {
      await Promise.all(["fs", "work", "merged"].map((d) => mkdir(join(dir, d))));
    });
    if (rec.parentId !== undefined) await this.#lowersFitting(rec.parentId);
    return this.#db.read().info(rec);
  }

  async view(key: string, parent: string): Promise<SnapshotInfo> {
    await this.#db.load();
    const rec = await this.#db.create(key, "view", parent, (dir) => mkdir(join(dir, "merged")));
    await this.#lowersFitting(rec.parentId!);
    return this.#db.read().info(rec);
  }

  async mount(key: string): Promise<string> {
    await this.#db.load();
    const rec = this.#db.get(key);
    const done = this.#mounted.get(key);
    if (done) return done;
    if (rec.kind === "committed") throw stateError(key, "committed", "mounted", "prepare() or view() on top of it");
    const lowers = rec.parentId === undefined ? [] : await this.#lowersFitting(rec.parentId);
    const target = `${rec.id}/merged`;
    await mkdir(join(this.#db.dir, "empty"), { recursive: true });
    if (rec.kind === "active") await mkdir(this.#db.path(rec.id, "work"), { recursive: true });
    const opts =
      rec.kind === "active"
        ? overlayOptions(this.#userxattr, lowers.length ? lowers : ["empty"], { upper: `${rec.id}/fs`, work: `${rec.id}/work` })
        : overlayOptions(this.#userxattr, lowers.length > 1 ? lowers : [...lowers, "empty"]);
    await this.#mountOverlay(opts, target, key);
    const abs = this.#db.path(rec.id, "merged");
    this.#mounted.set(key, abs);
    return abs;
  }

  async #mountOverlay(opts: string, target: string, key: string): Promise<void> {
    const r = await mountFs("overlay", "overlay", target, opts, { cwd: this.#db.dir });
    if (r.code !== 0) {
      throw new SnapshotError("TSB_SNAPSHOT_MOUNT", `mounting snapshot ${JSON.stringify(key)} failed: ${r.stderr.split("\n")[0] ?? ""}`,
        "run inside `tsbuild unshare` (or as root), or use the copy driver");
    }
  }

  async unmount(key: string): Promise<void> {
    const path = this.#mounted.get(key);
    if (!path) return;
    await mustUmount(path, `unmounting snapshot ${JSON.stringify(key)}`);
    this.#mounted.delete(key);
  }

  async commit(key: string, name = key): Promise<SnapshotInfo> {
    await this.#db.load();
    const rec = this.#db.get(key);
    if (rec.kind !== "active") throw stateError(key, rec.kind, "committed", "commit only snapshots made by prepare()");
    if (name !== key && this.#db.read().has(name)) throw existsError(name);
    await this.unmount(key);
    await this.#releaseApplyLower(key);
    const next = await this.#db.commit(key, rec.id, name);
    await rm(this.#db.path(rec.id, "work"), { recursive: true, force: true });
    return this.#db.read().info(next);
  }

  async remove(key: string): Promise<void> {
    await this.#db.load();
    this.#db.get(key);
    await this.unmount(key);
    await this.#releaseApplyLower(key);
    await this.#db.delete(key);
  }

  stat(key: string): Promise<SnapshotInfo> {
    return this.#db.stat(key);
  }

  list(): Promise<readonly SnapshotInfo[]> {
    return this.#db.list();
  }

  async diff(key: string): Promise<DiffSource> {
    await this.#db.load();
    const rec = this.#db.get(key);
    if (rec.kind === "view") throw stateError(key, "view", "diffed", "diff committed snapshots");
    const lower = await this.#mountLowerView(rec.parentId, key);
    try {
      return await walkUpper(this.#db.path(rec.id, "fs"), lower);
    } finally {
      if (lower) await this.#unmountLowerView(lower);
    }
  }

  async layerDir(key: string): Promise<string | undefined> {
    await this.#db.load();
    const rec = this.#db.get(key);
    return rec.kind === "committed" ? this.#db.path(rec.id, "fs") : undefined;
  }

  async cloneLayer(key: string, from: string, remove: readonly string[] = []): Promise<void> {
    await this.#db.load();
    const rec = this.#db.get(key);
    const src = this.#db.get(from);
    if (rec.kind !== "active") throw stateError(key, rec.kind, "cloned into", "clone into a snapshot made by prepare()");
    if (this.#mounted.has(key) || this.#applyLowers.has(key)) throw stateError(key, "mounted", "cloned into", "clone before mounting it");
    if (src.kind !== "committed") throw stateError(from, src.kind, "cloned", "clone committed snapshots");
    if (src.parentId !== rec.parentId) {
      throw new SnapshotError("TSB_SNAPSHOT_STATE", `snapshot ${JSON.stringify(from)} has another parent than ${JSON.stringify(key)}`, "clone only a layer made on the same parent");
    }
    const upper = this.#db.path(rec.id, "fs");
    await linkTree(this.#db.path(src.id, "fs"), upper, `cloning snapshot ${JSON.stringify(from)}`);
    for (const p of remove) {
      if (p === "" || p.startsWith("/") || p.split("/").some((c) => c === ".." || c === "." || c === "")) {
        throw new SnapshotError("TSB_SNAPSHOT_STATE", `cannot remove ${JSON.stringify(p)} from a cloned layer: not a clean relative path`, "this is a bug in the caller");
      }
      // Never through a symlink of the layer (its target could be anywhere on the host).
      const parts = p.split("/");
      let dir = upper;
      let under = true;
      for (const c of parts.slice(0, -1)) {
        dir = join(dir, c);
        const st = await lstat(dir).catch(() => undefined);
        if (!st?.isDirectory()) {
          under = false;
          break;
        }
      }
      // Unlinking only drops this layer's name: the inode stays, unchanged, in `from`.
      if (under) await rm(join(upper, p), { recursive: true, force: true });
    }
  }

  async applyTarget(key: string): Promise<ApplyTarget> {
    await this.#db.load();
    const rec = this.#db.get(key);
    if (rec.kind !== "active") throw stateError(key, rec.kind, "written", "apply layers into a prepared snapshot");
    if (this.#mounted.has(key)) throw stateError(key, "mounted", "written through its upperdir", "unmount it first, or write through the mount");
    let lower = this.#applyLowers.get(key);
    if (!lower && rec.parentId !== undefined) {
      lower = await this.#mountLowerView(rec.parentId, key);
      if (lower) this.#applyLowers.set(key, lower);
    }
    return {
      mode: "overlay",
      dir: this.#db.path(rec.id, "fs"),
      opaqueXattr: this.#userxattr ? "user.overlay.opaque" : "trusted.overlay.opaque",
      whiteoutTemplate: await this.#whiteoutTemplate(),
      ...(lower ? { lower } : {}),
    };
  }

  async close(): Promise<void> {
    for (const key of [...this.#mounted.keys()]) await this.unmount(key);
    for (const key of [...this.#applyLowers.keys()]) await this.#releaseApplyLower(key);
    await this.#db.close();
  }

  /** A read-only mount of committed snapshot `parentId` (with its ancestors) in scratch space, or undefined. */
  async #mountLowerView(parentId: number | undefined, key: string): Promise<string | undefined> {
    if (parentId === undefined) return undefined;
    const lowers = await this.#lowersFitting(parentId);
    const mnt = this.#db.tempPath("lower");
    await mkdir(mnt);
    await mkdir(join(this.#db.dir, "empty"), { recursive: true });
    try {
      await this.#mountOverlay(overlayOptions(this.#userxattr, lowers.length > 1 ? lowers : [...lowers, "empty"]), relative(this.#db.dir, mnt), key);
    } catch (e) {
      await rm(mnt, { recursive: true, force: true });
      throw e;
    }
    return mnt;
  }

  async #unmountLowerView(mnt: string): Promise<void> {
    await mustUmount(mnt, "unmounting a lower view");
    await rm(mnt, { recursive: true, force: true });
  }

  async #releaseApplyLower(key: string): Promise<void> {
    const lower = this.#applyLowers.get(key);
    if (!lower) return;
    this.#applyLowers.delete(key);
    await this.#unmountLowerView(lower);
  }

  /** A 0/0 char device that whiteouts are hard-linked to (overlayfs shares whiteout inodes the same way). */
  #whiteoutTemplate(): Promise<string> {
    this.#template ??= (async () => {
      const path = join(this.#db.dir, "whiteout");
      if (!existsSync(path)) {
        const tmp = this.#db.tempPath("whiteout");
        const r = await mknod(tmp, "c", 0, 0, 0);
        if (r.code !== 0) throw new SnapshotError("TSB_SNAPSHOT_WHITEOUT", `cannot create a whiteout device: ${r.stderr}`, "run inside `tsbuild unshare` or as root");
        await rename(tmp, path); // another process may have won the race: same content, either is fine
      }
      return path;
    })();
    return this.#template;
  }

  /** Relative lowerdirs of committed snapshot `id` and its ancestors, flattening `id` when the chain is too long. */
  async #lowersFitting(id: number): Promise<string[]> {
    const chain = this.#chain(id);
    if (chain.length <= this.#maxLowers) return chain;
    const flat = this.#db.path(id, "flat");
    const tmp = this.#db.tempPath("flat");
    const mnt = this.#db.tempPath("flatmnt");
    await Promise.all([mkdir(tmp), mkdir(mnt)]);
    await this.#mountOverlay(overlayOptions(this.#userxattr, chain), relative(this.#db.dir, mnt), this.#db.read().byId(id).key);
    try {
      await copyTree(mnt, tmp);
    } finally {
      await mustUmount(mnt, "unmounting a flattening view");
      await rm(mnt, { recursive: true, force: true });
    }
    try {
      await rename(tmp, flat);
    } catch (e) {
      // another process flattened the same snapshot first: theirs is identical
      if (!["ENOTEMPTY", "EEXIST"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
      await rm(tmp, { recursive: true, force: true });
    }
    return [`${id}/flat`];
  }

  #chain(id: number | undefined): string[] {
    const view = this.#db.read();
    const out: string[] = [];
    while (id !== undefined) {
      if (existsSync(this.#db.path(id, "flat"))) {
        out.push(`${id}/flat`);
        break;
      }
      out.push(`${id}/fs`);
      id = view.byId(id).parentId;
    }
    return out;
  }
}

function existsError(name: string): SnapshotError {
  return new SnapshotError("TSB_SNAPSHOT_EXISTS", `snapshot ${JSON.stringify(name)} already exists`, "another build committed it first; use it, and remove this snapshot");
}

function stateError(key: string, kind: string, verb: string, hint: string): SnapshotError {
  return new SnapshotError("TSB_SNAPSHOT_STATE", `snapshot ${JSON.stringify(key)} is ${kind} and cannot be ${verb}`, hint);
}

export { existsError, stateError };
