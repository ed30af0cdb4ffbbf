/**
 * Memoized selection checksums and their per-entry listings, persisted next to the context index.
 *
 * A memo maps a selection key (selector + ignore rules) to the checksum computed for it and a fingerprint of what
 * the walk saw: every visible entry's path, type and stat (dev, ino, size, mtime, ctime, mode, rdev) — the same
 * stat the index trusts. When a later walk yields the same fingerprint, the checksum is reused without building the
 * content-hash tree or loading the index. Racy-git rule: a memo is only stored when no entry's mtime/ctime falls in
 * or after the second the context was opened (such a file could change again without its stat changing).
 *
 * Listings (context path → explain digest) are stored content-addressed by checksum, so `--explain` can compare the
 * entries of two builds' selections long after the walk, without every build recording 20,000 digests.
 */
import { createHash } from "node:crypto";
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { readSealed, writeSealed } from "./sealed-file.js";

const FORMAT = "tsbuild.context-memo";
const VERSION = 1;
/** Memos kept per context (most recently used first). */
const KEEP_MEMOS = 32;
/** Listings kept per index directory (newest first, by mtime). */
const KEEP_LISTINGS = 64;

interface Memo {
  readonly fingerprint: string;
  readonly checksum: string;
}

/** The persisted memos of one context root. */
export class SelectionMemo {
  readonly #file: string | undefined;
  readonly #root: string;
  /** Insertion order = age of the last (re)computation; the oldest are dropped first. */
  readonly #memos: Map<string, Memo>;
  #dirty = false;

  private constructor(file: string | undefined, root: string, memos: Map<string, Memo>) {
    this.#file = file;
    this.#root = root;
    this.#memos = memos;
  }

  /** Load the memos of `root` from `dir` (a corrupt, foreign or missing file means none). */
  static async open(dir: string | undefined, root: string): Promise<SelectionMemo> {
    if (dir === undefined) return new SelectionMemo(undefined, root, new Map());
    const key = createHash("sha256").update(root).digest("hex").slice(0, 32);
    const file = join(dir, `${key}.memo.json`);
    return new SelectionMemo(file, root, (await loadMemos(file, root)) ?? new Map());
  }

  /** The checksum memoized for `key` when the walk's fingerprint is unchanged. */
  get(key: string, fingerprint: string): string | undefined {
    const m = this.#memos.get(key);
    return m !== undefined && m.fingerprint === fingerprint ? m.checksum : undefined;
  }

  set(key: string, fingerprint: string, checksum: string): void {
    const m = this.#memos.get(key);
    if (m?.fingerprint === fingerprint && m.checksum === checksum) return;
    this.#memos.delete(key);
    this.#memos.set(key, { fingerprint, checksum });
    this.#dirty = true;
  }

  /** Persist if anything changed (tmp + rename; the body's sha256 in the header rejects a torn file). */
  async save(): Promise<void> {
    if (this.#file === undefined || !this.#dirty) return;
    const kept = [...this.#memos].slice(-KEEP_MEMOS);
    await writeSealed(this.#file, { format: FORMAT, version: VERSION, root: this.#root }, JSON.stringify(Object.fromEntries(kept)));
    this.#dirty = false;
  }
}

async function loadMemos(file: string, root: string): Promise<Map<string, Memo> | undefined> {
  const sealed = await readSealed(file);
  if (!sealed) return undefined;
  const { header, body } = sealed;
  if (header.format !== FORMAT || header.version !== VERSION || header.root !== root) return undefined;
  try {
    const raw = JSON.parse(body) as Record<string, unknown>;
    const out = new Map<string, Memo>();
    for (const [k, v] of Object.entries(raw)) {
      const m = v as Partial<Memo> | null;
      if (typeof m?.fingerprint !== "string" || typeof m.checksum !== "string") return undefined;
      out.set(k, { fingerprint: m.fingerprint, checksum: m.checksum });
    }
    return out;
  } catch {
    return undefined;
  }
}


/** The file holding the listing of a selection checksum (`sha256:<hex>`). */
function listingFile(indexDir: string, checksum: string): string | undefined {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(checksum)?.[1];
  return hex === undefined ? undefined : join(indexDir, "listings", `${hex}.json`);
}

/**
 * Store the listing of a selection (context path → explain digest) unless it is already stored, then keep only the
 * newest listings of the directory.
 */
export async function saveListing(indexDir: string, checksum: string, listing: ReadonlyMap<string, string>): Promise<void> {
  const file = listingFile(indexDir, checksum);
  if (file === undefined) return;
  if (await stat(file).then(() => true, () => false)) return;
  await writeSealed(file, { format: "tsbuild.context-listing", version: 1, checksum }, JSON.stringify(Object.fromEntries(listing)));
  await pruneListings(join(indexDir, "listings"));
}

async function pruneListings(dir: string): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json"));
  if (names.length <= KEEP_LISTINGS) return;
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
  dated.sort((a, b) => b.t - a.t);
  await Promise.all(dated.slice(KEEP_LISTINGS).map((d) => rm(join(dir, d.n), { force: true })));
}

/**
 * The listing stored for a selection checksum: context path ("" = context root) → the first 16 hex digits of the
 * entry's content digest, or `dir <perm>` for a directory. Undefined when it was never stored or has been pruned.
 */
export async function loadListing(indexDir: string, checksum: string): Promise<ReadonlyMap<string, string> | undefined> {
  const file = listingFile(indexDir, checksum);
  if (file === undefined) return undefined;
  const sealed = await readSealed(file);
  if (!sealed || sealed.header.checksum !== checksum) return undefined;
  try {
    const raw = JSON.parse(sealed.body) as Record<string, unknown>;
    const out = new Map<string, string>();
    for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out.set(k, v);
    return out;
  } catch {
    return undefined;
  }
}

/** At most this many entries per input are compared by `--explain` (beyond it only their count). */
const EXPLAIN_MAX_FILES = 20_000;

/**
 * The entries read by the selections of one COPY input (their checksums, in order; a later selection's entry wins),
 * for `--explain`: sorted context path → explain digest (see {@link loadListing}), `{count}` beyond 20,000 entries,
 * or undefined when a listing is no longer stored.
 */
export async function loadSelectionFiles(
  indexDir: string,
  selections: readonly string[],
): Promise<Record<string, string> | { readonly count: number } | undefined> {
  const files = new Map<string, string>();
  for (const sum of selections) {
    const listing = await loadListing(indexDir, sum);
    if (listing === undefined) return undefined;
    for (const [p, d] of listing) files.set(p, d);
  }
  if (files.size > EXPLAIN_MAX_FILES) return { count: files.size };
  return Object.fromEntries([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
