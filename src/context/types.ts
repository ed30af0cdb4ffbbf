/**
 * The context room's contract: selectors (what a COPY/ADD or bind mount takes from the context), the entries a
 * selection yields, and the explanations given when a source matches nothing.
 */

/** What to take from the context (BuildKit's contenthash ChecksumOpts + path). */
export interface Selector {
  /** Source path as written: relative or absolute (both from the context root); `..` never leaves the context. */
  readonly path: string;
  /** Treat `*`, `?`, `[…]` in `path` as COPY wildcards (Go path.Match per path). @default false */
  readonly wildcard?: boolean;
  /** Follow a symlink in the last component (COPY does; intermediate links are always followed). @default false */
  readonly followLinks?: boolean;
  /** Docker patterns, relative to the selected root: keep only matching paths (and their parent directories). */
  readonly include?: readonly string[];
  /** Docker patterns, relative to the selected root: drop matching paths (COPY --exclude). */
  readonly exclude?: readonly string[];
}

/** File type of an entry. */
export type EntryType = "file" | "dir" | "symlink" | "fifo" | "socket" | "char" | "block";

/** One file system object of a selection, with the stat data a copy needs. */
export interface ContextEntry {
  /** Path relative to the selection's root ("" for the root itself), "/"-separated. */
  readonly path: string;
  /** Real path relative to the context root (after resolving symlinks in the source path). */
  readonly contextPath: string;
  /** Absolute path on disk. */
  readonly absPath: string;
  readonly type: EntryType;
  /** Full st_mode (type and permission bits). */
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly uid: number;
  readonly gid: number;
  readonly dev: number;
  readonly ino: number;
  readonly nlink: number;
  readonly rdev: number;
  /** Symlink target, as stored in the link. */
  readonly linkTarget?: string;
}

/** One selected source: for a wildcard, each match; otherwise exactly one. */
export interface Selection {
  /** The source as matched, context-relative and unresolved (e.g. `src/a.go`); "" for the context root. */
  readonly source: string;
  readonly root: ContextEntry;
  /** Everything below `root` that the filters keep, parents before children, names sorted. */
  readonly descendants: readonly ContextEntry[];
}

/** Why a source matched nothing (or "exists"). `message` is a sentence fragment about the path. */
export type Explanation =
  | { readonly kind: "exists"; readonly message: string }
  | { readonly kind: "missing"; readonly message: string }
  | { readonly kind: "outside"; readonly message: string }
  | {
      readonly kind: "excluded";
      readonly message: string;
      readonly file: string;
      readonly line: number;
      readonly pattern: string;
    };

/** Work counters of a context, for tests and benchmarks. */
export interface ContextStats {
  /** Files whose index entry was reused from stat alone. */
  readonly statHits: number;
  /** Files re-read whose content (xxh64) had not changed: sha256 reused. */
  readonly xxhVerified: number;
  /** Files whose sha256 was computed. */
  readonly sha256Computed: number;
  /** Selections whose checksum was reused from the memo (no file hashed or index read for them). */
  readonly memoHits: number;
}
