/**
 * Layer tar → snapshot directory. Every entry path is validated (no absolute paths, no `..`, bounded length)
 * and every parent component is lstat'ed: a symlink or non-directory parent is an error, so nothing is ever
 * written through a symlink or outside the target. Ownership/mode per entry, xattrs in one batch, directory
 * mtimes last (deepest first) so later writes do not disturb them.
 */
import { createReadStream, createWriteStream as createWriteStreamOf, type Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import type { Header } from "tar-stream";
import { LayerError, quoteEntry } from "./errors.js";
import { createExtract, decompressLayer } from "./layer-stream.js";
import { isPortableXattr, mknod, writeXattrs } from "./native.js";
import { LowerTree } from "./apply-lower.js";
import type { ApplyTarget } from "./types.js";
import { decodeName, fsPath } from "./raw-names.js";

// Paths are strings that may hold bytes that are not UTF-8 (raw-names.ts): every fs call here goes through fsPath.
const chmod = (p: string, mode: number): Promise<void> => fsp.chmod(fsPath(p), mode);
const lchown = (p: string, uid: number, gid: number): Promise<void> => fsp.lchown(fsPath(p), uid, gid);
const link = (from: string, to: string): Promise<void> => fsp.link(fsPath(from), fsPath(to));
const lstat = (p: string): Promise<Stats> => fsp.lstat(fsPath(p));
const lutimes = (p: string, a: Date, m: Date): Promise<void> => fsp.lutimes(fsPath(p), a, m);
const mkdir = async (p: string, opts: { mode: number }): Promise<void> => void (await fsp.mkdir(fsPath(p), opts));
const readdir = async (p: string): Promise<string[]> => (await fsp.readdir(fsPath(p), { encoding: "buffer" })).map(decodeName);
const rm = (p: string, opts: { recursive: boolean; force: boolean }): Promise<void> => fsp.rm(fsPath(p), opts);
const symlink = (target: string, p: string): Promise<void> => fsp.symlink(fsPath(target), fsPath(p));
const createWriteStream = (p: string, opts: { flags: string; mode: number }) => createWriteStreamOf(fsPath(p), opts);

/**
 * An entry's name as bytes say it: the PAX record when there is one (tar-stream decodes those as UTF-8), else the
 * header field, which the extractor reads as latin1 (one character per byte; see createExtract).
 */
function entryName(pax: ReadonlyMap<string, Buffer>, key: "path" | "linkpath", field: string): string {
  const raw = pax.get(key);
  return decodeName(raw ?? Buffer.from(field, "latin1"));
}

export interface ApplyOptions {
  readonly signal?: AbortSignal;
}

export interface ApplyResult {
  readonly format: "gzip" | "zstd" | "none";
  /** Entries applied (whiteouts included). */
  readonly entries: number;
  /** Things skipped on purpose, e.g. device nodes that cannot be created rootless. */
  readonly notes: readonly string[];
}

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/** Normalise a tar entry name into path components, rejecting anything that could leave the root. */
export function entryComponents(name: string, what = "entry"): string[] {
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) {
    throw new LayerError("TSB_LAYER_NAME_TOO_LONG", `layer ${what} name is ${Buffer.byteLength(name)} bytes (max ${MAX_PATH_BYTES}): ${quoteEntry(name)}`, "the layer is corrupt or hostile; rebuild it", name);
  }
  if (name.includes("\0")) throw new LayerError("TSB_LAYER_PATH", `layer ${what} ${quoteEntry(name)} contains a NUL byte`, "the layer is corrupt or hostile", name);
  if (name.startsWith("/")) {
    throw new LayerError("TSB_LAYER_PATH", `layer ${what} ${quoteEntry(name)} is an absolute path`, "layer entries must be relative to the root; the layer is hostile or was made by a broken tool", name);
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  for (const p of parts) {
    if (p === "..") throw new LayerError("TSB_LAYER_PATH", `layer ${what} ${quoteEntry(name)} contains ".."`, "the layer tries to escape the root; do not use it", name);
    if (Buffer.byteLength(p) > MAX_NAME_BYTES) {
      throw new LayerError("TSB_LAYER_NAME_TOO_LONG", `layer ${what} ${quoteEntry(name)} has a component longer than ${MAX_NAME_BYTES} bytes`, "the layer is corrupt or hostile", name);
    }
  }
  return parts;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Apply a layer (path or stream; gzip, zstd or plain) into `target`. */
export async function applyLayer(input: string | Readable, target: ApplyTarget, options: ApplyOptions = {}): Promise<ApplyResult> {
  const source = typeof input === "string" ? createReadStream(input) : input;
  let opened: Awaited<ReturnType<typeof decompressLayer>>;
  try {
    opened = await decompressLayer(source);
  } catch (e) {
    throw new LayerError("TSB_LAYER_READ", `cannot read layer${typeof input === "string" ? ` ${input}` : ""}: ${(e as Error).message}`, "check that the blob exists and is readable", undefined, e);
  }
  const { stream, format } = opened;
  const { extract, rawPax } = createExtract();
  const root = target.dir;
  /** Relative dirs known to be real directories (cleared whenever something is replaced or removed). */
  const verified = new Set<string>();
  /** Paths written by this layer: opaque markers in a flat target must not delete them. */
  const written = new Set<string>();
  const xattrs = new Map<string, Map<string, Buffer>>();
  const dirTimes = new Map<string, Date>();
  /** Directories created because an entry below them needed them and the layer did not list: copied up from below. */
  const copiedUp = new Set<string>();
  const below = new LowerTree(target.mode === "overlay" ? target.lower : undefined);
  /** Whether this layer made directory `dir` hide what is below it. */
  const hidden = (dir: string): boolean => target.mode === "overlay" && xattrs.get(dir)?.has(target.opaqueXattr) === true;
  const notes: string[] = [];
  let count = 0;

  const fail = (code: `TSB_LAYER_${string}`, entry: string, msg: string, hint: string, cause?: unknown): never => {
    throw new LayerError(code, `layer entry ${quoteEntry(entry)}: ${msg}`, hint, entry, cause);
  };

  /**
   * Make sure every parent of `parts` is a real directory inside root. A missing one that exists below (overlay
   * target) is copied up with its owner, mode, mtime and xattrs; one that does not is created 0755 root:root.
   */
  const ensureParents = async (parts: readonly string[], entry: string): Promise<void> => {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      if (verified.has(rel)) continue;
      const st = await lstatOrUndefined(join(root, rel));
      if (!st) {
        const low = await below.stat(rel, hidden);
        if (low?.isSymbolicLink()) {
          fail("TSB_LAYER_SYMLINK", entry, `parent ${quoteEntry(rel)} is a symlink in a lower layer; writing through it could leave the root`, "the layer is not a valid changeset for this parent; do not use it");
        } else if (low && !low.isDirectory()) {
          fail("TSB_LAYER_PARENT", entry, `parent ${quoteEntry(rel)} is not a directory in a lower layer`, "the layer is not a valid changeset for this parent");
        }
        await mkdir(join(root, rel), { mode: low ? 0o700 : 0o755 });
        if (low) {
          await lchown(join(root, rel), low.uid, low.gid);
          await chmod(join(root, rel), low.mode & 0o7777);
          dirTimes.set(rel, low.mtime);
          copiedUp.add(rel);
        }
      } else if (st.isSymbolicLink()) {
        fail("TSB_LAYER_SYMLINK", entry, `parent ${quoteEntry(rel)} is a symlink; writing through it could leave the root`, "the layer is hostile or not a valid changeset; do not use it");
      } else if (!st.isDirectory()) {
        fail("TSB_LAYER_PARENT", entry, `parent ${quoteEntry(rel)} is not a directory`, "the layer is corrupt (entries out of order?)");
      }
      verified.add(rel);
    }
  };

  const removeExisting = async (rel: string): Promise<void> => {
    await rm(join(root, rel), { recursive: true, force: true });
    verified.clear();
    for (const k of [...xattrs.keys()]) if (k === rel || k.startsWith(`${rel}/`)) xattrs.delete(k);
    for (const k of [...dirTimes.keys()]) if (k === rel || k.startsWith(`${rel}/`)) dirTimes.delete(k);
    for (const k of [...copiedUp]) if (k === rel || k.startsWith(`${rel}/`)) copiedUp.delete(k);
  };

  const whiteout = async (parts: string[], entry: string): Promise<void> => {
    await ensureParents(parts, entry);
    const rel = parts.join("/");
    const existing = await lstatOrUndefined(join(root, rel));
    if (existing) await removeExisting(rel);
    if (target.mode === "overlay") {
      try {
        await link(target.whiteoutTemplate, join(root, rel));
      } catch (e) {
        fail("TSB_LAYER_APPLY", entry, `cannot create whiteout: ${(e as Error).message}`, "the snapshot root must be on one filesystem", e);
      }
    }
  };

  const opaque = async (dirParts: string[], entry: string): Promise<void> => {
    await ensureParents([...dirParts, "x"], entry);
    const rel = dirParts.join("/");
    if (target.mode === "overlay") {
      if (rel === "") fail("TSB_LAYER_INVALID", entry, "an opaque marker for the root is not supported", "the layer is corrupt");
      xattrs.set(rel, new Map([...(xattrs.get(rel) ?? []), [target.opaqueXattr, Buffer.from("y")]]));
      return;
    }
    for (const name of await readdir(join(root, rel))) {
      const child = rel === "" ? name : `${rel}/${name}`;
      if (!written.has(child)) await removeExisting(child);
    }
  };

  // Entry callbacks rather than for-await: leaving a tar-stream async iterator early after an error never settles.
  let current: Readable | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const abort = (e: unknown): void => {
        if (failed) return;
        failed = true;
        current?.destroy();
        stream.destroy();
        reject(e);
      };
      extract.on("entry", (header, source, next) => {
        const entry = source as unknown as Readable;
        entry.on("error", () => {}); // reported through the pipeline or applyEntry
        current = entry;
        applyEntry(Object.assign(entry, { header })).then(() => {
          entry.resume();
          next();
        }, abort);
      });
      pipeline(stream, extract).then(() => (failed ? undefined : resolve()), (e: unknown) => {
        current?.destroy(e as Error);
        abort(e);
      });
    });
  } catch (e) {
    if (e instanceof LayerError) throw e;
    throw new LayerError("TSB_LAYER_CORRUPT", `layer is not a valid tar: ${(e as Error).message}`, "the blob is truncated or not a layer; pull it again", undefined, e);
  }

  for (const [rel, attrs] of await below.xattrs([...copiedUp])) xattrs.set(rel, new Map([...attrs, ...(xattrs.get(rel) ?? [])]));
  await writeXattrs([...xattrs].flatMap(([rel, attrs]) => [...attrs].map(([k, v]) => [join(root, rel), k, v] as const)));
  for (const rel of [...dirTimes.keys()].sort().reverse()) {
    const t = dirTimes.get(rel)!;
    await lutimes(join(root, rel), t, t);
  }
  return { format, entries: count, notes };

  async function applyEntry(entry: Readable & { header: Header }): Promise<void> {
    options.signal?.throwIfAborted();
    const h0 = entry.header;
    const pax = rawPax();
    const h = { ...h0, name: entryName(pax, "path", h0.name), linkname: h0.linkname == null ? h0.linkname : entryName(pax, "linkpath", h0.linkname) };
    try {
      const parts = entryComponents(h.name);
      if (parts.length === 0) {
        entry.resume();
        return;
      }
      count++;
      const base = parts[parts.length - 1]!;
      if (base.startsWith(".wh.")) {
        entry.resume();
        if (base === ".wh..wh..opq") await opaque(parts.slice(0, -1), h.name);
        else if (base.startsWith(".wh..wh.")) notes.push(`skipped aufs metadata ${quoteEntry(h.name)}`);
        else if (base === ".wh." || base === ".wh.." || base === ".wh...") fail("TSB_LAYER_INVALID", h.name, "whiteout without a valid name", "the layer is corrupt or hostile");
        else await whiteout([...parts.slice(0, -1), base.slice(4)], h.name);
        return;
      }
      await ensureParents(parts, h.name);
      const rel = parts.join("/");
      const abs = join(root, rel);
      const existing = await lstatOrUndefined(abs);
      if (existing && !(existing.isDirectory() && h.type === "directory")) await removeExisting(rel);
      const created = await createEntry(entry, h, parts, abs);
      if (!created) return;
      written.add(rel);
      copiedUp.delete(rel);
      const uid = pax.has("uid") ? Number(pax.get("uid")!.toString()) : h.uid;
      const gid = pax.has("gid") ? Number(pax.get("gid")!.toString()) : h.gid;
      try {
        await lchown(abs, uid, gid);
      } catch (e) {
        fail("TSB_LAYER_OWNER", h.name, `cannot set owner ${uid}:${gid}: ${(e as Error).message}`, "ids above 65535 need a bigger subuid/subgid range", e);
      }
      if (h.type !== "symlink" && h.type !== "link") await chmod(abs, h.mode & 0o7777);
      const attrs = new Map<string, Buffer>();
      for (const [k, v] of pax) if (k.startsWith("SCHILY.xattr.") && isPortableXattr(k.slice(13))) attrs.set(k.slice(13), v);
      if (attrs.size > 0) xattrs.set(rel, attrs);
      // a PAX mtime (before 1970, after 2242, sub-second) wins over the header's
      const paxTime = pax.has("mtime") ? Number(pax.get("mtime")!.toString()) : NaN;
      const mtime = Number.isFinite(paxTime) ? new Date(paxTime * 1000) : h.mtime;
      if (h.type === "directory") dirTimes.set(rel, mtime);
      else if (h.type !== "link") await lutimes(abs, mtime, mtime);
    } catch (e) {
      entry.destroy();
      if (e instanceof LayerError) throw e;
      fail("TSB_LAYER_APPLY", h.name, (e as Error).message, "check free space and permissions of the snapshot root", e);
    }
  }

  async function createEntry(entry: Readable, h: Header, parts: string[], abs: string): Promise<boolean> {
    switch (h.type) {
      case "directory":
        entry.resume();
        await mkdir(abs, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => { if (e.code !== "EEXIST") throw e; });
        verified.add(parts.join("/"));
        return true;
      case "file":
      case "contiguous-file":
        await pipeline(entry, createWriteStream(abs, { flags: "wx", mode: 0o600 }));
        return true;
      case "symlink":
        entry.resume();
        await symlink(h.linkname, abs);
        return true;
      case "link": {
        entry.resume();
        const targetParts = entryComponents(h.linkname, "hardlink target");
        await ensureParents(targetParts, h.name);
        const targetRel = targetParts.join("/");
        const targetAbs = join(root, targetRel);
        let st = await lstatOrUndefined(targetAbs);
        if (st && target.mode === "overlay" && st.isCharacterDevice() && st.rdev === 0) st = undefined; // a whiteout
        else if (!st) {
          // a target in a lower layer: copy it up into the upperdir first, as overlayfs would on link(2)
          const low = await below.stat(targetRel, hidden);
          if (low && !low.isDirectory()) {
            await below.copyUp(targetRel, targetAbs);
            st = await lstatOrUndefined(targetAbs);
          }
        }
        if (!st || st.isDirectory()) {
          fail("TSB_LAYER_HARDLINK", h.name, `hardlink target ${quoteEntry(h.linkname)} ${st ? "is a directory" : "is neither in this layer nor below it"}`, "the layer is corrupt or hostile");
        }
        await link(targetAbs, abs);
        return true;
      }
      case "fifo":
      case "character-device":
      case "block-device": {
        entry.resume();
        const type = h.type === "fifo" ? "p" : h.type === "character-device" ? "c" : "b";
        const r = await mknod(abs, type, 0o600, h.devmajor, h.devminor);
        if (r.code !== 0) {
          notes.push(`skipped ${h.type} ${quoteEntry(h.name)}: ${r.stderr.split("\n")[0] ?? "not permitted"}`);
          return false;
        }
        return true;
      }
      default:
        entry.resume();
        notes.push(`skipped unsupported entry type ${String(h.type)} ${quoteEntry(h.name)}`);
        return false;
    }
  }
}
