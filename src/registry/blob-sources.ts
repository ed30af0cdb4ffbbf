/**
 * A small per-root record of which repositories a blob was pulled from or pushed to (`<root>/registry/
 * blob-sources.json`), so a push can mount it from another repository of the same registry instead of uploading.
 * It is only a hint: a stale entry costs one mount attempt that falls back to an upload. Concurrent writers merge
 * (read–modify–write with an atomic rename); a lost update only loses a hint.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../store/index.js";
import type { Digest } from "../util/digest.js";

/** Repositories remembered per blob (most recent first). */
const MAX_REPOS_PER_BLOB = 8;
/** Blobs remembered in total (oldest entries dropped). */
const MAX_BLOBS = 20_000;

type Record_ = Record<string, string[]>;

export class BlobSources {
  readonly #file: string;
  #pending = new Map<string, Set<string>>();

  /** @param root the tsbuild root directory. */
  constructor(root: string) {
    this.#file = join(root, "registry", "blob-sources.json");
  }

  async #read(): Promise<Record_> {
    try {
      const parsed = JSON.parse(await readFile(this.#file, "utf8")) as unknown;
      return typeof parsed === "object" && parsed !== null ? (parsed as Record_) : {};
    } catch {
      return {};
    }
  }

  /** Repositories (`registry/path`) known to hold `digest`. */
  async lookup(digest: Digest): Promise<readonly string[]> {
    const rec = await this.#read();
    const pending = this.#pending.get(digest);
    return [...new Set([...(pending ?? []), ...(rec[digest] ?? [])])];
  }

  /** Remember that `repo` (`registry/path`) holds `digest`; written by `flush()`. */
  add(digest: Digest, repo: string): void {
    let s = this.#pending.get(digest);
    if (!s) this.#pending.set(digest, (s = new Set()));
    s.add(repo);
  }

  /** Merge pending entries into the file. */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const pending = this.#pending;
    this.#pending = new Map();
    const rec = await this.#read();
    for (const [digest, repos] of pending) {
      const merged = [...repos, ...(rec[digest] ?? []).filter((r) => !repos.has(r))].slice(0, MAX_REPOS_PER_BLOB);
      delete rec[digest];
      rec[digest] = merged;
    }
    const keys = Object.keys(rec);
    for (const k of keys.slice(0, Math.max(0, keys.length - MAX_BLOBS))) delete rec[k];
    await mkdir(join(this.#file, ".."), { recursive: true });
    await writeFileAtomic(this.#file, JSON.stringify(rec));
  }
}
