/**
 * Incremental results of file ops: what an op wrote last time on a given base (its result snapshot and a manifest
 * of the entries it copied), so the next run of the same op on the same base can start from a hard-link clone of
 * that layer and apply only the delta; and, per layer made that way, which paths differ from the layer it was
 * cloned from (for a spliced layer export).
 *
 * Records are small JSON files under `<cache>/incremental/`, written temp + rename, so any number of processes may
 * read and write them at once (the last writer wins; every record is self-contained). A record whose snapshot is
 * gone (pruned) is ignored; records never keep snapshots alive.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256, digestHex } from "../util/digest.js";
import type { Snapshotter } from "../snapshot/index.js";
import { writeFileAtomic, type RootLayout } from "../store/index.js";
import { readJsonFile } from "./json-files.js";

/** One copied source of an incremental record: how it was matched and where (rootfs-relative) it was written. */
export interface IncrementalItem {
  readonly source: string;
  readonly rootType: string;
  /** Resolved destination, relative to the rootfs ("" for the root). */
  readonly dst: string;
}

/** What an op wrote on one base: its result's top snapshot and a fingerprint per copied entry. */
export interface IncrementalRecord {
  readonly snapshot: string;
  readonly items: readonly IncrementalItem[];
  /** `<item index>\0<entry path>` → fingerprint (type, mode, owner, mtime, size, content digest, link target). */
  readonly entries: Readonly<Record<string, string>>;
}

/** Which layer a layer was cloned from, and which paths (rootfs-relative) differ between the two. */
export interface DerivedLayer {
  readonly from: string;
  /** Paths written after the clone (added or replaced entries, and directories whose metadata was applied again). */
  readonly changed: readonly string[];
  /** Paths deleted from the clone before it was written (everything below them went too). */
  readonly removed?: readonly string[];
}

interface StoredRecord extends IncrementalRecord {
  readonly v: 1;
}

function dirOf(layout: RootLayout): string {
  return join(layout.cache, "incremental");
}

function derivedPath(layout: RootLayout, snapshot: string): string {
  return join(dirOf(layout), "derived", `${snapshot.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
}

/** The record key of an op: its digest and the snapshots of the base it ran on. */
export function incrementalKey(opDigest: string, baseSnapshots: readonly string[]): string {
  return digestHex(sha256(`tsbuild.incremental.v1 ${JSON.stringify([opDigest, baseSnapshots])}`));
}

/** The record of `key`, when there is a valid one whose snapshot still exists (committed). */
export async function readIncrementalRecord(layout: RootLayout, key: string, snapshotter: Snapshotter): Promise<IncrementalRecord | undefined> {
  const r = await readJsonFile<StoredRecord>(join(dirOf(layout), `${key}.json`));
  if (!r || r.v !== 1 || typeof r.snapshot !== "string" || !Array.isArray(r.items) || typeof r.entries !== "object" || r.entries === null) return undefined;
  if (!r.items.every((i) => typeof i?.source === "string" && typeof i.rootType === "string" && typeof i.dst === "string")) return undefined;
  const info = await snapshotter.stat(r.snapshot).catch(() => undefined);
  return info?.kind === "committed" ? r : undefined;
}

/**
 * Remember `record` under `key`; with `derived`, also what its layer changed relative to the layer it was cloned
 * from. The derived note of the snapshot the key named before is dropped (at most one note per key lives on).
 */
export async function writeIncrementalRecord(layout: RootLayout, key: string, record: IncrementalRecord, derived?: DerivedLayer): Promise<void> {
  await mkdir(join(dirOf(layout), "derived"), { recursive: true });
  const file = join(dirOf(layout), `${key}.json`);
  const old = await readJsonFile<StoredRecord>(file);
  if (derived) await writeFileAtomic(derivedPath(layout, record.snapshot), JSON.stringify(derived), 0o644, { durable: false });
  await writeFileAtomic(file, JSON.stringify({ v: 1, ...record } satisfies StoredRecord), 0o644, { durable: false });
  if (old && typeof old.snapshot === "string" && old.snapshot !== record.snapshot && old.snapshot !== derived?.from) {
    await rm(derivedPath(layout, old.snapshot), { force: true });
  }
}

/** What layer `snapshot` was cloned from and which paths it changed, when it was made incrementally. */
export async function readDerivedLayer(layout: RootLayout, snapshot: string): Promise<DerivedLayer | undefined> {
  const d = await readJsonFile<DerivedLayer>(derivedPath(layout, snapshot));
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((p) => typeof p === "string");
  return d && typeof d.from === "string" && strings(d.changed) && (d.removed === undefined || strings(d.removed)) ? d : undefined;
}

/**
 * Drop the records whose snapshot is gone and the derived notes of gone snapshots (`existing`: the snapshot keys
 * that remain), after a prune. A record of a 20,000-file COPY is ~2 MB: they must not outlive their layers.
 * Returns how many files were removed.
 */
export async function pruneIncremental(layout: RootLayout, existing: ReadonlySet<string>): Promise<number> {
  const dir = dirOf(layout);
  const kept = new Set([...existing].map((k) => `${k.replace(/[^A-Za-z0-9._-]/g, "_")}.json`));
  let removed = 0;
  for (const name of await readdir(join(dir, "derived")).catch(() => [] as string[])) {
    if (!name.endsWith(".json") || kept.has(name)) continue;
    await rm(join(dir, "derived", name), { force: true });
    removed++;
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(".json")) continue;
    const r = await readJsonFile<Partial<StoredRecord>>(join(dir, name));
    if (r && typeof r.snapshot === "string" && existing.has(r.snapshot)) continue;
    await rm(join(dir, name), { force: true });
    removed++;
  }
  return removed;
}
