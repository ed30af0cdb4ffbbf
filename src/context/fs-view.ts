/**
 * A memoizing, concurrency-bounded view of the context directory: lstat, readdir and readlink by context-relative
 * path ("" = root). One BuildContext holds one view, so every selector of a build reads each inode once.
 */
import type { Stats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { ContextReadError, describeFsError } from "./errors.js";
import type { SafeFs } from "./safe-path.js";

/** A counting semaphore: at most `limit` tasks run at once, the rest wait in FIFO order. */
export class Limiter {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

export class FsView implements SafeFs {
  readonly root: string;
  readonly #limiter: Limiter;
  readonly #stats = new Map<string, Promise<Stats | null>>();
  readonly #dirs = new Map<string, Promise<readonly string[]>>();
  readonly #links = new Map<string, Promise<string>>();

  constructor(root: string, concurrency: number) {
    this.root = root;
    this.#limiter = new Limiter(concurrency);
  }

  abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  lstat(rel: string): Promise<Stats | null> {
    let p = this.#stats.get(rel);
    if (p === undefined) {
      p = this.#limiter.run(async () => {
        try {
          return await lstat(this.abs(rel));
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === "ENOENT" || code === "ENOTDIR") return null;
          throw new ContextReadError(rel, describeFsError(err), err);
        }
      });
      this.#stats.set(rel, p);
    }
    return p;
  }

  /** Child names of a directory, sorted by UTF-16 code units (a stable order for digests). */
  readdir(rel: string): Promise<readonly string[]> {
    let p = this.#dirs.get(rel);
    if (p === undefined) {
      p = this.#limiter.run(async () => {
        try {
          return (await readdir(this.abs(rel))).sort();
        } catch (err) {
          throw new ContextReadError(rel, describeFsError(err), err);
        }
      });
      this.#dirs.set(rel, p);
    }
    return p;
  }

  readlink(rel: string): Promise<string> {
    let p = this.#links.get(rel);
    if (p === undefined) {
      p = this.#limiter.run(async () => {
        try {
          return await readlink(this.abs(rel));
        } catch (err) {
          throw new ContextReadError(rel, describeFsError(err), err);
        }
      });
      this.#links.set(rel, p);
    }
    return p;
  }
}
