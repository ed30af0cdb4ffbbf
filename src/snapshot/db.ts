/**
 * On-disk bookkeeping shared by both drivers and by every tsbuild process using the same root:
 *   snapshots/db.json      all records + the next id; replaced atomically (tmp + fsync + rename + fsync dir)
 *   snapshots/<id>/        one snapshot's files (small integer ids keep overlay lowerdir strings short)
 *   snapshots/tmp/         scratch (flattening copies, lower-view mountpoints) named `<what>.<owner tag>.<n>`
 *   snapshots/trash/       directories on their way out, renamed there under the lock and deleted after it
 * Every read-modify-write happens under the root's flock (lock.ts) on a fresh read of db.json, so ids never
 * collide and a name can be claimed by one process only. kill -9 at any point leaves either the old or the new
 * db.json; what a dead process left behind (its active snapshots and views, directories without a record,
 * scratch and trash) is reaped when a snapshotter first loads the root.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SnapshotError } from "./errors.js";
import { currentOwner, FileLock, isOwnerAlive, ownerTag, parseOwnerTag, type OwnerId } from "./lock.js";
import { umountFs } from "./native.js";
import type { SnapshotInfo, SnapshotKind } from "./types.js";

/** One snapshot as stored in db.json. */
export interface SnapshotRecord {
  readonly id: number;
  readonly key: string;
  readonly kind: SnapshotKind;
  readonly parentId: number | undefined;
  readonly created: string;
  /** The process that made an active snapshot or view; it is garbage once that process is gone. */
  readonly owner?: OwnerId | undefined;
}

interface DbFile {
  readonly version: 1;
  readonly nextId: number;
  readonly records: readonly SnapshotRecord[];
}

/** One consistent reading of db.json. */
export class DbView {
  readonly nextId: number;
  readonly #byKey = new Map<string, SnapshotRecord>();
  readonly #byId = new Map<number, SnapshotRecord>();

  constructor(file: DbFile) {
    this.nextId = file.nextId;
    for (const r of file.records) {
      this.#byKey.set(r.key, r);
      this.#byId.set(r.id, r);
    }
  }

  get(key: string): SnapshotRecord {
    const rec = this.#byKey.get(key);
    if (!rec) throw new SnapshotError("TSB_SNAPSHOT_NOT_FOUND", `snapshot ${JSON.stringify(key)} does not exist`, "prepare or commit it first");
    return rec;
  }

  byId(id: number): SnapshotRecord {
    const rec = this.#byId.get(id);
    if (!rec) throw new SnapshotError("TSB_SNAPSHOT_NOT_FOUND", `snapshot #${id} does not exist`, "the snapshot root was modified outside tsbuild");
    return rec;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  hasId(id: number): boolean {
    return this.#byId.has(id);
  }

  all(): SnapshotRecord[] {
    return [...this.#byId.values()].sort((a, b) => a.id - b.id);
  }

  children(id: number): SnapshotRecord[] {
    return this.all().filter((r) => r.parentId === id);
  }

  info(rec: SnapshotRecord): SnapshotInfo {
    return { key: rec.key, kind: rec.kind, parent: rec.parentId === undefined ? undefined : this.byId(rec.parentId).key, created: rec.created };
  }

  with(records: readonly SnapshotRecord[], nextId = this.nextId): DbFile {
    return { version: 1, nextId, records };
  }
}

const EMPTY: DbFile = { version: 1, nextId: 1, records: [] };
let tmpCounter = 0;

/** The records of one root, read fresh for every decision and changed only under the root's lock. */
export class SnapshotDb {
  readonly root: string;
  readonly dir: string;
  readonly #file: string;
  readonly #lock: FileLock;
  #raw: Buffer | undefined;
  #view = new DbView(EMPTY);
  #loaded: Promise<void> | undefined;

  constructor(root: string) {
    this.root = root;
    this.dir = join(root, "snapshots");
    this.#file = join(this.dir, "db.json");
    this.#lock = new FileLock(join(this.dir, "lock"));
  }

  /** Create the layout and reap what dead processes left behind (once per instance). */
  load(): Promise<void> {
    this.#loaded ??= (async () => {
      await Promise.all(["tmp", "trash"].map((d) => mkdir(join(this.dir, d), { recursive: true })));
      if (!this.#mayHaveGarbage()) return; // the common case: no lock, no helper process
      const trash = await this.#lock.run(() => this.#reap());
      await Promise.all(trash.map((p) => rm(p, { recursive: true, force: true })));
    })();
    return this.#loaded;
  }

  /** A fresh, consistent reading of the db (re-parsed only when the file changed). */
  read(): DbView {
    let raw: Buffer;
    try {
      raw = readFileSync(this.#file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      raw = Buffer.alloc(0);
    }
    if (this.#raw && raw.equals(this.#raw)) return this.#view;
    this.#view = new DbView(raw.length === 0 ? EMPTY : (JSON.parse(raw.toString("utf8")) as DbFile));
    this.#raw = raw;
    return this.#view;
  }

  get(key: string): SnapshotRecord {
    return this.read().get(key);
  }

  /** `Snapshotter.stat`, shared by the drivers. */
  async stat(key: string): Promise<SnapshotInfo> {
    await this.load();
    const view = this.read();
    return view.info(view.get(key));
  }

  /** `Snapshotter.list`, shared by the drivers. */
  async list(): Promise<readonly SnapshotInfo[]> {
    await this.load();
    const view = this.read();
    return view.all().map((r) => view.info(r));
  }

  /** Absolute path of a snapshot's directory. */
  path(id: number, ...rest: string[]): string {
    return join(this.dir, String(id), ...rest);
  }

  /** A fresh scratch path under tmp/ that names this process as its owner (reaped if the process dies). */
  tempPath(what: string): string {
    return join(this.dir, "tmp", `${what}.${ownerTag()}.${++tmpCounter}`);
  }

  /**
   * Claim a new id and key, create the snapshot's directory and run `init` on it, then persist the record, all
   * under the lock (so a directory without a record is always garbage). Keep `init` quick (mkdirs).
   */
  async create(key: string, kind: SnapshotKind, parentKey: string | undefined, init: (dir: string) => Promise<void>): Promise<SnapshotRecord> {
    return this.#lock.run(async () => {
      const view = this.read();
      if (view.has(key)) throw new SnapshotError("TSB_SNAPSHOT_EXISTS", `snapshot ${JSON.stringify(key)} already exists`, "use a new key or remove the old snapshot");
      let parentId: number | undefined;
      if (parentKey !== undefined) {
        const parent = view.get(parentKey);
        if (parent.kind !== "committed") {
          throw new SnapshotError("TSB_SNAPSHOT_STATE", `parent snapshot ${JSON.stringify(parentKey)} is ${parent.kind}, not committed`, "commit the parent before building on it");
        }
        parentId = parent.id;
      }
      const id = view.nextId;
      const dir = this.path(id);
      await rm(dir, { recursive: true, force: true }); // a leftover of a crash between mkdir and the db write
      await mkdir(dir);
      await init(dir);
      const rec: SnapshotRecord = { id, key, kind, parentId, created: new Date().toISOString(), owner: currentOwner() };
      await this.#write(view.with([...view.all(), rec], id + 1));
      return rec;
    });
  }

  /** Turn active snapshot `key` (which must still be record `id`) into committed `name`; fails if `name` is taken. */
  async commit(key: string, id: number, name: string): Promise<SnapshotRecord> {
    return this.#lock.run(async () => {
      const view = this.read();
      const rec = view.get(key);
      if (rec.id !== id || rec.kind !== "active") {
        throw new SnapshotError("TSB_SNAPSHOT_STATE", `snapshot ${JSON.stringify(key)} changed while it was being committed`, "another process used the same key; use unique keys");
      }
      if (name !== key && view.has(name)) {
        throw new SnapshotError("TSB_SNAPSHOT_EXISTS", `snapshot ${JSON.stringify(name)} already exists`, "another build committed it first; use it, and remove this snapshot");
      }
      const next: SnapshotRecord = { id, key: name, kind: "committed", parentId: rec.parentId, created: rec.created };
      await this.#write(view.with(view.all().map((r) => (r.id === id ? next : r))));
      return next;
    });
  }

  /** Delete a record that no other snapshot uses as parent; its directory is moved to trash and deleted. */
  async delete(key: string): Promise<SnapshotRecord> {
    let trashed = "";
    const rec = await this.#lock.run(async () => {
      const view = this.read();
      const r = view.get(key);
      const users = view.children(r.id);
      if (users.length > 0) {
        throw new SnapshotError("TSB_SNAPSHOT_IN_USE", `snapshot ${JSON.stringify(key)} is the parent of ${JSON.stringify(users[0]!.key)}`, "remove its children first");
      }
      await this.#write(view.with(view.all().filter((x) => x.id !== r.id)));
      trashed = await this.#trash(this.path(r.id));
      return r;
    });
    await rm(trashed, { recursive: true, force: true });
    return rec;
  }

  /** Stop the lock helper once the critical sections queued so far have run. */
  close(): Promise<void> {
    return this.#lock.close();
  }

  async #write(file: DbFile): Promise<void> {
    const data = Buffer.from(JSON.stringify(file));
    await writeDurable(this.#file, data);
    this.#raw = data;
    this.#view = new DbView(file);
  }

  /** Move `path` (if it exists) into trash/ under a name owned by this process; returns the new path. */
  async #trash(path: string): Promise<string> {
    await unmountBelow(path);
    const dest = join(this.dir, "trash", `${path.slice(path.lastIndexOf("/") + 1)}.${ownerTag()}.${++tmpCounter}`);
    try {
      await rename(path, dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    return dest;
  }

  /** A lock-free look for anything #reap() would act on (false positives, e.g. a snapshot being created, are fine). */
  #mayHaveGarbage(): boolean {
    const view = this.read();
    if (this.#raw?.length === 0 && readdirSync(this.dir).some((n) => /^\d+$/.test(n))) return true;
    if (view.all().some((r) => r.owner && !isOwnerAlive(r.owner))) return true;
    if (readdirSync(this.dir).some((n) => (/^\d+$/.test(n) && !view.hasId(Number(n))) || n.endsWith(".tmp"))) return true;
    return ["tmp", "trash"].some((sub) => readdirSync(join(this.dir, sub)).length > 0);
  }

  /** Under the lock: drop dead owners' snapshots, collect orphans. Returns trash paths to delete after the lock. */
  async #reap(): Promise<string[]> {
    let view = this.read();
    if (this.#raw?.length === 0) view = new DbView(await this.#legacyRecords());
    const dead = new Set(view.all().filter((r) => r.owner && !isOwnerAlive(r.owner) && view.children(r.id).length === 0).map((r) => r.id));
    if (dead.size > 0 || (this.#raw?.length === 0 && view.all().length > 0)) await this.#write(view.with(view.all().filter((r) => !dead.has(r.id))));
    view = this.read();
    const out: string[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      if (/^\d+$/.test(name) && !view.hasId(Number(name))) out.push(await this.#trash(path));
      else if (name.endsWith(".tmp")) await rm(path, { force: true }); // db.json tmp files: written only under the lock
    }
    for (const sub of ["tmp", "trash"]) {
      for (const name of await readdir(join(this.dir, sub))) {
        const parts = name.split(".");
        const owner = parseOwnerTag(parts[parts.length - 2] ?? "");
        if (owner && isOwnerAlive(owner)) continue;
        out.push(await this.#trash(join(this.dir, sub, name)));
      }
    }
    return out;
  }

  /** Records of the per-snapshot info.json layout used before db.json existed (committed ones only). */
  async #legacyRecords(): Promise<DbFile> {
    const records: SnapshotRecord[] = [];
    let nextId = 1;
    for (const name of readdirSync(this.dir)) {
      if (!/^\d+$/.test(name)) continue;
      nextId = Math.max(nextId, Number(name) + 1);
      try {
        const r = JSON.parse(await readFile(join(this.dir, name, "info.json"), "utf8")) as SnapshotRecord;
        if (r.kind === "committed") records.push({ id: r.id, key: r.key, kind: r.kind, parentId: r.parentId, created: r.created });
      } catch {
        // half-created snapshot: an orphan
      }
    }
    const ids = new Set(records.map((r) => r.id));
    return { version: 1, nextId, records: records.filter((r) => r.parentId === undefined || ids.has(r.parentId)) };
  }
}

/** Replace `path` with `data` atomically and durably: sibling tmp file, fsync, rename, fsync of the directory. */
export async function writeDurable(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${ownerTag()}.${++tmpCounter}.tmp`;
  const fh = await open(tmp, "wx", 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dirname(path), "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Lazily unmount every mount at or below `path` in this mount namespace (left by a dead process when root). */
export async function unmountBelow(path: string): Promise<void> {
  let info: string;
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return;
  }
  const points = info.split("\n").map((l) => l.split(" ")[4] ?? "").map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === path || p.startsWith(`${path}/`)).sort().reverse();
  for (const p of points) await umountFs(p, { lazy: true });
}
