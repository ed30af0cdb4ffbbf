/**
 * The persistent per-context file index: for each regular file, the stat data (dev, ino, size, mtime, ctime,
 * mode) plus xxh64 and sha256 of its content. A rebuild trusts an entry whose stat is unchanged; when the stat
 * changed it re-reads the file and recomputes sha256 only if the xxh64 changed too (a `touch` costs one fast read).
 * Racy-git rule: an entry whose mtime/ctime falls in or after the second the index was stamped is re-verified.
 * The file is written atomically (tmp + fsync + rename) and a corrupt or foreign index is discarded.
 */
import { createHash } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { open, readFile, rename, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import xxhash, { type XXHashAPI } from "xxhash-wasm";
import { ContextReadError, describeFsError } from "./errors.js";
import { Limiter } from "./fs-view.js";
import { readSealed, writeSealed } from "./sealed-file.js";

const FORMAT = "tsbuild.context-index";
const VERSION = 2;
/** Files up to this size are read into one buffer (so xxh64 and sha256 share a read). */
const SMALL_FILE = 1 << 20;
const CHUNK = 1 << 20;

/** [dev, ino, size, mtimeMs, ctimeMs, mode, xxh64 hex, sha256 hex] */
type Entry = [number, number, number, number, number, number, string, string];

/** Counters of the work an index did, for tests and benchmarks. */
export interface IndexStats {
  /** Files whose stored stat matched: no read at all. */
  statHits: number;
  /** Files re-read to compare xxh64 (stat changed or racy) whose content turned out unchanged. */
  xxhVerified: number;
  /** Files whose sha256 was computed (new or changed content). */
  sha256Computed: number;
}

let apiPromise: Promise<XXHashAPI> | undefined;
function xxh(): Promise<XXHashAPI> {
  apiPromise ??= xxhash();
  return apiPromise;
}

/** Entries are stored as "dev ino size mtimeMs ctimeMs mode xxh64 sha256" strings and decoded on first use. */
function decode(v: string): Entry | undefined {
  const f = v.split(" ");
  if (f.length !== 8 || f[7]!.length !== 64 || f[6]!.length === 0) return undefined;
  const n = f.slice(0, 6).map(Number);
  if (!n.every(Number.isFinite)) return undefined;
  return [n[0]!, n[1]!, n[2]!, n[3]!, n[4]!, n[5]!, f[6]!, f[7]!];
}

const encode = (e: Entry): string => e.join(" ");

/** Options of {@link FileIndex.open}. */
export interface FileIndexOptions {
  /** Directory holding index files (the tsbuild root's cache dir); undefined = in-memory only. */
  readonly dir: string | undefined;
  /** Absolute context root: the index key. */
  readonly root: string;
  /** Clock in ms (tests inject one to exercise the racy-second rule). @default Date.now */
  readonly now?: () => number;
}

export class FileIndex {
  readonly #file: string | undefined;
  readonly #root: string;
  /** The stored entries, read on first use ({@link FileIndex.load}): a memoized checksum needs none of them. */
  #old: ReadonlyMap<string, string> = new Map();
  #loading: Promise<void> | undefined;
  #loaded = false;
  /** Start of the racy second of the loaded index: entries with m/ctime >= this are re-verified. */
  #racyFrom = 0;
  readonly #stamp: number;
  readonly #fresh = new Map<string, Entry>();
  /** Bounds open file descriptors and memory: at most this many files are read at once. */
  readonly #reads = new Limiter(8);
  #dirty = false;
  readonly stats: IndexStats = { statHits: 0, xxhVerified: 0, sha256Computed: 0 };

  private constructor(file: string | undefined, root: string, now: number) {
    this.#file = file;
    this.#root = root;
    this.#stamp = now;
    if (file === undefined) this.#loaded = true;
  }

  /** The index of `root` in `dir`, read on first use (discarded then if corrupt or foreign), or empty. */
  static async open(opts: FileIndexOptions): Promise<FileIndex> {
    const now = (opts.now ?? Date.now)();
    if (opts.dir === undefined) return new FileIndex(undefined, opts.root, now);
    const key = createHash("sha256").update(opts.root).digest("hex").slice(0, 32);
    return new FileIndex(join(opts.dir, `${key}.json`), opts.root, now);
  }

  /** When this session started (ms): the racy-second reference for what it stores. */
  get stamp(): number {
    return this.#stamp;
  }

  /** Read the stored entries (once). {@link knownSha} vouches for nothing before this resolves. */
  load(): Promise<void> {
    this.#loading ??= (async () => {
      const loaded = this.#file === undefined ? undefined : await load(this.#file, this.#root);
      this.#old = loaded?.entries ?? new Map();
      this.#racyFrom = Math.floor((loaded?.stamp ?? 0) / 1000) * 1000;
      this.#loaded = true;
    })();
    return this.#loading;
  }

  /** The content sha256 when the index can vouch for it from `st` alone (no I/O), else undefined. */
  knownSha(rel: string, st: Stats): string | undefined {
    if (!this.#loaded) return undefined;
    const fresh = this.#fresh.get(rel);
    if (fresh !== undefined && sameStat(fresh, st)) return fresh[7];
    const raw = this.#old.get(rel);
    const old = raw === undefined ? undefined : decode(raw);
    if (old !== undefined && sameStat(old, st) && Math.max(old[3], old[4]) < this.#racyFrom) {
      this.stats.statHits++;
      this.#fresh.set(rel, old);
      return old[7];
    }
    return undefined;
  }

  /** sha256 (hex) of the content of regular file `rel` whose lstat is `st`, using the index when it can. */
  async contentSha(rel: string, st: Stats): Promise<string> {
    await this.load();
    const known = this.knownSha(rel, st);
    if (known !== undefined) return known;
    const raw = this.#old.get(rel);
    const old = raw === undefined ? undefined : decode(raw);
    const entry = await this.#reads.run(() => this.#hash(rel, st, old));
    this.#fresh.set(rel, entry);
    this.#dirty = true;
    return entry[7];
  }

  /**
   * Read and hash a file. The entry records the walk's lstat taken *before* the read (as git does): a write after
   * that lstat changes mtime/ctime, so the next build sees a different stat (or a racy one) and re-reads.
   */
  async #hash(rel: string, st: Stats, old: Entry | undefined): Promise<Entry> {
    const api = await xxh();
    let fh: FileHandle;
    try {
      // O_NOFOLLOW: if the file was swapped for a symlink since lstat, refuse rather than read outside.
      fh = await open(join(this.#root, rel), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw new ContextReadError(rel, describeFsError(err), err);
    }
    try {
      const stat: [number, number, number, number, number, number] = [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, st.mode];
      if (st.size <= SMALL_FILE) {
        const buf = await fh.readFile();
        const x = api.create64().update(buf).digest().toString(16).padStart(16, "0");
        if (old !== undefined && old[6] === x) {
          this.stats.xxhVerified++;
          return [...stat, x, old[7]];
        }
        this.stats.sha256Computed++;
        return [...stat, x, createHash("sha256").update(buf).digest("hex")];
      }
      // Large file: one streaming pass computes both when there is nothing to compare against.
      const xs = api.create64();
      const sha = old === undefined ? createHash("sha256") : undefined;
      await streamFile(fh, 0, (chunk) => {
        xs.update(chunk);
        sha?.update(chunk);
      });
      const x = xs.digest().toString(16).padStart(16, "0");
      if (sha !== undefined) {
        this.stats.sha256Computed++;
        return [...stat, x, sha.digest("hex")];
      }
      if (old![6] === x) {
        this.stats.xxhVerified++;
        return [...stat, x, old![7]];
      }
      const sha2 = createHash("sha256");
      await streamFile(fh, 0, (chunk) => sha2.update(chunk));
      this.stats.sha256Computed++;
      return [...stat, x, sha2.digest("hex")];
    } catch (err) {
      if (err instanceof ContextReadError) throw err;
      throw new ContextReadError(rel, describeFsError(err), err);
    } finally {
      await fh.close();
    }
  }

  /**
   * Persist the index if anything changed. With `prune`, keep only entries used in this session (call it after a
   * walk of the whole context); otherwise keep unseen old entries too.
   */
  async save(prune = false): Promise<void> {
    if (this.#file === undefined || !this.#loaded) return;
    if (!this.#dirty && !(prune && this.#fresh.size !== this.#old.size)) return;
    const entries: Record<string, string> = {};
    if (!prune) for (const [k, v] of this.#old) entries[k] = v;
    for (const [k, v] of this.#fresh) entries[k] = encode(v);
    await writeSealed(this.#file, { format: FORMAT, version: VERSION, root: this.#root, stamp: this.#stamp }, JSON.stringify(entries), { durable: true });
    this.#dirty = false;
  }
}

function sameStat(e: Entry, st: Stats): boolean {
  return e[0] === st.dev && e[1] === st.ino && e[2] === st.size && e[3] === st.mtimeMs && e[4] === st.ctimeMs && e[5] === st.mode;
}

async function streamFile(fh: FileHandle, start: number, fn: (chunk: Uint8Array) => void): Promise<void> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = start;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) return;
    fn(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

/** Read and validate an index file; undefined when missing, corrupt, foreign or of another version. */
async function load(file: string, root: string): Promise<{ entries: Map<string, string>; stamp: number } | undefined> {
  const sealed = await readSealed(file);
  if (!sealed) return undefined;
  const { header, body } = sealed;
  if (header.format !== FORMAT || header.version !== VERSION || header.root !== root) return undefined;
  if (typeof header.stamp !== "number" || !Number.isFinite(header.stamp)) return undefined;
  try {
    const raw = JSON.parse(body) as unknown;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
    const entries = new Map<string, string>();
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== "string") return undefined;
      entries.set(k, v);
    }
    return { entries, stamp: header.stamp };
  } catch {
    return undefined;
  }
}
