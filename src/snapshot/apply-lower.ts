/**
 * The layers below an overlay upperdir while a layer is applied into it (through a read-only view of the merged
 * parent). A path below counts only while every ancestor below is a real directory that the upperdir does not
 * hide, so a lookup never walks through a symlink of the parent: nothing outside the root is ever read.
 */
import { lstat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { LayerError } from "./errors.js";
import { mustRun, readXattrs } from "./native.js";
import { fsPath, hasEscapes } from "./raw-names.js";

/** Lookups, copy-ups and xattr reads in the read-only view below an overlay upperdir (see the file comment). */
export class LowerTree {
  readonly #root: string | undefined;
  readonly #cache = new Map<string, Promise<Stats | undefined>>();

  /** `root`: the read-only view, or undefined when there is nothing below (flat targets, first layers). */
  constructor(root: string | undefined) {
    this.#root = root;
  }

  /**
   * lstat of `rel` below, or undefined when it is not there or not reachable. `hidden(p)` says whether the
   * upperdir hides what is below directory `p` (an opaque dir, or a non-directory, written by this layer).
   */
  stat(rel: string, hidden: (dir: string) => boolean): Promise<Stats | undefined> {
    if (this.#root === undefined) return Promise.resolve(undefined);
    let p = this.#cache.get(rel);
    if (!p) {
      p = this.#lookup(rel);
      this.#cache.set(rel, p);
    }
    return p.then(async (st) => {
      for (let i = rel.indexOf("/"); i > 0; i = rel.indexOf("/", i + 1)) if (hidden(rel.slice(0, i))) return undefined;
      return st;
    });
  }

  async #lookup(rel: string): Promise<Stats | undefined> {
    const slash = rel.lastIndexOf("/");
    if (slash > 0) {
      const parent = await this.stat(rel.slice(0, slash), () => false);
      if (!parent?.isDirectory()) return undefined;
    }
    try {
      return await lstat(fsPath(join(this.#root!, rel)));
    } catch {
      return undefined;
    }
  }

  /** Copy the non-directory `rel` from below to `dest` with everything (owner, mode, times, xattrs). */
  async copyUp(rel: string, dest: string): Promise<void> {
    if (hasEscapes(rel) || hasEscapes(dest)) {
      throw new LayerError("TSB_LAYER_HARDLINK", `cannot copy up ${JSON.stringify(rel)} from a lower layer: its name is not UTF-8`, "a hard link to a lower-layer file named with bytes that are not UTF-8 is not supported", rel);
    }
    await mustRun("cp", ["-a", "--no-target-directory", "--", join(this.#root!, rel), dest], `copying up ${JSON.stringify(rel)}`);
  }

  /** Portable extended attributes of the given paths below (one getfattr batch). */
  async xattrs(rels: readonly string[]): Promise<Map<string, Map<string, Buffer>>> {
    const out = new Map<string, Map<string, Buffer>>();
    if (this.#root === undefined || rels.length === 0) return out;
    const abs = await readXattrs(rels.map((r) => join(this.#root!, r)));
    for (const rel of rels) {
      const attrs = abs.get(join(this.#root, rel));
      const kept = new Map([...(attrs ?? [])].filter(([k]) => !k.includes(".overlay.")));
      if (kept.size > 0) out.set(rel, kept);
    }
    return out;
  }
}
