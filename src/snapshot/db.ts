/**
 * On-disk bookkeeping shared by both drivers: `<root>/snapshots/<id>/info.json` per snapshot, ids are small
 * integers so overlay lowerdir strings stay short. One Snapshotter instance per root at a time.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SnapshotError } from "./errors.js";
import type { SnapshotInfo, SnapshotKind } from "./types.js";

export interface SnapshotRecord {
  readonly id: number;
  readonly key: string;
  readonly kind: SnapshotKind;
  readonly parentId: number | undefined;
  readonly created: string;
}

export class SnapshotDb {
  readonly root: string;
  readonly dir: string;
  #byKey = new Map<string, SnapshotRecord>();
  #byId = new Map<number, SnapshotRecord>();
  #nextId = 1;
  #loaded: Promise<void> | undefined;

  constructor(root: string) {
    this.root = root;
    this.dir = join(root, "snapshots");
  }

  load(): Promise<void> {
    this.#loaded ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      for (const name of await readdir(this.dir)) {
        if (!/^\d+$/.test(name)) continue;
        const id = Number(name);
        this.#nextId = Math.max(this.#nextId, id + 1);
        try {
          const rec = JSON.parse(await readFile(join(this.dir, name, "info.json"), "utf8")) as SnapshotRecord;
          this.#add(rec);
        } catch {
          // a snapshot dir without info.json is a half-created one from a crash: removed lazily by remove/prune
        }
      }
    })();
    return this.#loaded;
  }

  #add(rec: SnapshotRecord): void {
    this.#byKey.set(rec.key, rec);
    this.#byId.set(rec.id, rec);
  }

  /** Absolute path of a snapshot's directory. */
  path(id: number, ...rest: string[]): string {
    return join(this.dir, String(id), ...rest);
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

  info(rec: SnapshotRecord): SnapshotInfo {
    return { key: rec.key, kind: rec.kind, parent: rec.parentId === undefined ? undefined : this.byId(rec.parentId).key, created: rec.created };
  }

  all(): SnapshotRecord[] {
    return [...this.#byId.values()].sort((a, b) => a.id - b.id);
  }

  children(id: number): SnapshotRecord[] {
    return this.all().filter((r) => r.parentId === id);
  }

  /** Allocate a new snapshot dir (mkdir is the atomic claim) and persist its record. */
  async create(key: string, kind: SnapshotKind, parentKey: string | undefined): Promise<SnapshotRecord> {
    await this.load();
    if (this.#byKey.has(key)) throw new SnapshotError("TSB_SNAPSHOT_EXISTS", `snapshot ${JSON.stringify(key)} already exists`, "use a new key or remove the old snapshot");
    let parentId: number | undefined;
    if (parentKey !== undefined) {
      const parent = this.get(parentKey);
      if (parent.kind !== "committed") {
        throw new SnapshotError("TSB_SNAPSHOT_STATE", `parent snapshot ${JSON.stringify(parentKey)} is ${parent.kind}, not committed`, "commit the parent before building on it");
      }
      parentId = parent.id;
    }
    for (;;) {
      const id = this.#nextId++;
      try {
        await mkdir(this.path(id));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw e;
      }
      const rec: SnapshotRecord = { id, key, kind, parentId, created: new Date().toISOString() };
      await this.save(rec);
      this.#add(rec);
      return rec;
    }
  }

  async save(rec: SnapshotRecord): Promise<void> {
    const file = this.path(rec.id, "info.json");
    await writeFile(`${file}.tmp`, JSON.stringify(rec));
    await rename(`${file}.tmp`, file);
  }

  /** Replace a record (commit renames the key and changes the kind). */
  async update(old: SnapshotRecord, next: SnapshotRecord): Promise<void> {
    if (old.key !== next.key && this.#byKey.has(next.key)) {
      throw new SnapshotError("TSB_SNAPSHOT_EXISTS", `snapshot ${JSON.stringify(next.key)} already exists`, "commit under a new name");
    }
    await this.save(next);
    this.#byKey.delete(old.key);
    this.#add(next);
  }

  async delete(key: string): Promise<SnapshotRecord> {
    const rec = this.get(key);
    const users = this.children(rec.id);
    if (users.length > 0) {
      throw new SnapshotError("TSB_SNAPSHOT_IN_USE", `snapshot ${JSON.stringify(key)} is the parent of ${JSON.stringify(users[0]!.key)}`, "remove its children first");
    }
    await rm(this.path(rec.id, "info.json"), { force: true });
    this.#byKey.delete(key);
    this.#byId.delete(rec.id);
    await rm(this.path(rec.id), { recursive: true, force: true });
    return rec;
  }
}
