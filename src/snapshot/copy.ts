/**
 * Copy driver, for hosts without overlayfs. prepare() copies the parent's tree (cp -a) and records an index of
 * (inode, ctime) per path. commit() walks the tree once with lstat and compares against that index: ctime
 * changes on any write, chmod, chown, xattr change or rename and cannot be set from userspace, so no file is
 * ever read to find the diff. The changes are stored (changes.json) and become the layer; whiteouts are
 * index paths that are gone, a directory with a new inode is opaque (as overlayfs makes it).
 */
import { lstatSync, readdirSync } from "node:fs";
import { lstat, mkdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { SnapshotDb, writeDurable, type SnapshotRecord } from "./db.js";
import { copyTree } from "./native.js";
import { SnapshotError } from "./errors.js";
import { existsError, stateError } from "./overlay.js";
import type { ApplyTarget, DiffSource, SnapshotInfo, Snapshotter, SnapshotterReport } from "./types.js";
import { diffFromChanges, sortEntries, type RecordedChange } from "./walk.js";
import { ancestors, unchangedPaths, type Candidate } from "./compare.js";

/** path → [inode identity (ino.birthtime), ctime ns, is dir] */
type Index = Map<string, readonly [string, string, boolean]>;

function walkIndex(root: string): { index: Index; maxCtime: bigint } {
  const index: Index = new Map();
  let maxCtime = 0n;
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel === "" ? root : join(root, rel))) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, path), { bigint: true });
      if (st.ctimeNs > maxCtime) maxCtime = st.ctimeNs;
      // inode numbers are reused at once (rm -rf d; mkdir d): the birth time tells a new inode from the old one
      index.set(path, [`${st.ino}.${st.birthtimeNs}`, String(st.ctimeNs), st.isDirectory()]);
      if (st.isDirectory()) walk(path);
    }
  };
  walk("");
  return { index, maxCtime };
}

/**
 * Compare a tree against its prepare-time index. `parentRoot` is the committed parent's tree (what the index was
 * taken of): an entry that kept its inode is compared with it there, so a directory whose ctime only moved
 * because something inside it came and went is not a change (see compare.ts).
 */
export async function computeChanges(root: string, before: Index, parentRoot?: string): Promise<RecordedChange[]> {
  const { index: after } = walkIndex(root);
  const changes = new Map<string, RecordedChange>();
  const opaque = new Set<string>();
  const cands: Candidate[] = [];
  for (const [path, [ino, ctime, isDir]] of after) {
    const old = before.get(path);
    if (old && old[0] === ino && old[1] === ctime) continue;
    changes.set(path, { kind: "entry", path });
    if (isDir && old && old[0] !== ino) {
      changes.set(`${path}\u0000opq`, { kind: "opaque", path });
      opaque.add(path);
    } else if (old && old[0] === ino && parentRoot !== undefined) {
      const lowerStat = lstatSync(join(parentRoot, path), { bigint: true, throwIfNoEntry: false });
      if (lowerStat) cands.push({ path, upper: { abs: join(root, path), stat: lstatSync(join(root, path), { bigint: true }) }, lower: { abs: join(parentRoot, path), stat: lowerStat } });
    }
  }
  for (const path of await unchangedPaths(cands)) changes.delete(path);
  // a removed path needs a whiteout unless an ancestor was removed, replaced or made opaque (that covers it)
  const hidden = (path: string): boolean => {
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
      const dir = path.slice(0, i);
      if (opaque.has(dir) || after.get(dir)?.[0] !== before.get(dir)?.[0]) return true;
    }
    return false;
  };
  for (const path of before.keys()) {
    if (!after.has(path) && !hidden(path)) changes.set(`${path}\u0000wh`, { kind: "whiteout", path });
  }
  // parents of every change go into the layer too (as overlayfs copies them up and containerd writes them)
  for (const c of [...changes.values()]) {
    for (const dir of ancestors(c.path)) if (!changes.has(dir)) changes.set(dir, { kind: "entry", path: dir });
  }
  return sortEntries([...changes.values()]);
}

export class CopySnapshotter implements Snapshotter {
  readonly report: SnapshotterReport;
  readonly #db: SnapshotDb;

  constructor(root: string, reason = "copy driver (forced)") {
    this.#db = new SnapshotDb(root);
    this.report = { driver: "copy", reason };
  }

  async prepare(key: string, parent?: string): Promise<SnapshotInfo> {
    await this.#db.load();
    const rec = await this.#db.create(key, "active", parent, (dir) => mkdir(join(dir, "fs")));
    const fs = this.#db.path(rec.id, "fs");
    // outside the lock: the record (owned by this process) keeps the parent alive while it is copied
    if (rec.parentId !== undefined) await copyTree(this.#db.path(rec.parentId, "fs"), fs);
    const { index, maxCtime } = walkIndex(fs);
    await writeDurable(this.#db.path(rec.id, "index.json"), JSON.stringify([...index]));
    await this.#waitForClockTick(rec.id, maxCtime);
    return this.#db.read().info(rec);
  }

  /** Return once a new write would get a ctime above every indexed one (file clocks are coarse, ~4 ms). */
  async #waitForClockTick(id: number, maxCtime: bigint): Promise<void> {
    const marker = this.#db.path(id, "tick");
    await writeFile(marker, "");
    for (let i = 0; i < 1000; i++) {
      await utimes(marker, 0, 0);
      if ((await lstat(marker, { bigint: true })).ctimeNs > maxCtime) return;
      await sleep(1);
    }
  }

  async view(key: string, parent: string): Promise<SnapshotInfo> {
    await this.#db.load();
    return this.#db.read().info(await this.#db.create(key, "view", parent, async () => {}));
  }

  async mount(key: string): Promise<string> {
    await this.#db.load();
    const rec = this.#db.get(key);
    if (rec.kind === "committed") throw stateError(key, "committed", "mounted", "prepare() or view() on top of it");
    // a view shares the committed parent's tree: read-only by contract, nothing to copy
    return rec.kind === "view" ? this.#db.path(rec.parentId!, "fs") : this.#db.path(rec.id, "fs");
  }

  async unmount(): Promise<void> {}

  async commit(key: string, name = key): Promise<SnapshotInfo> {
    await this.#db.load();
    const rec = this.#db.get(key);
    if (rec.kind !== "active") throw stateError(key, rec.kind, "committed", "commit only snapshots made by prepare()");
    if (name !== key && this.#db.read().has(name)) throw existsError(name);
    const changes = await this.#changes(rec);
    await writeDurable(this.#db.path(rec.id, "changes.json"), JSON.stringify(changes));
    const next = await this.#db.commit(key, rec.id, name);
    await rm(this.#db.path(rec.id, "index.json"), { force: true });
    return this.#db.read().info(next);
  }

  async #changes(rec: SnapshotRecord): Promise<RecordedChange[]> {
    const raw = JSON.parse(await readFile(this.#db.path(rec.id, "index.json"), "utf8")) as [string, [string, string, boolean]][];
    return computeChanges(this.#db.path(rec.id, "fs"), new Map(raw), rec.parentId === undefined ? undefined : this.#db.path(rec.parentId, "fs"));
  }

  async remove(key: string): Promise<void> {
    await this.#db.load();
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
    const changes =
      rec.kind === "committed"
        ? (JSON.parse(await readFile(this.#db.path(rec.id, "changes.json"), "utf8")) as RecordedChange[])
        : await this.#changes(rec);
    return diffFromChanges(this.#db.path(rec.id, "fs"), changes);
  }

  /** Unsupported: the copy driver's tree is the whole rootfs, not one layer that could be cloned. */
  cloneLayer(key: string): Promise<void> {
    return Promise.reject(new SnapshotError("TSB_SNAPSHOT_UNSUPPORTED", `the copy driver cannot clone a layer into snapshot ${JSON.stringify(key)}`, "copy the files instead"));
  }

  async applyTarget(key: string): Promise<ApplyTarget> {
    await this.#db.load();
    const rec = this.#db.get(key);
    if (rec.kind !== "active") throw stateError(key, rec.kind, "written", "apply layers into a prepared snapshot");
    return { mode: "flat", dir: this.#db.path(rec.id, "fs") };
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
