// Reading saved images for the conformance judge: docker-archive tars (`docker save`, both the classic layout and
// the Docker >= 25 one that also holds an OCI layout), OCI archive tars and OCI layout directories. Layers come back
// uncompressed (gzip through zlib, zstd through the `zstd` tool), each as a list of normalized tar entries.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { gunzipSync } from "node:zlib";
import tarStream from "tar-stream";

/** Largest mtime (Unix seconds) taken as pinned by the fixtures; later ones are "set at build time". */
export const CONTEXT_EPOCH = 1600000000;

/** Read every member of a tar buffer: `[{header, data}]` in archive order. */
export function readTar(buf) {
  return new Promise((resolve, reject) => {
    const out = [];
    const ex = tarStream.extract();
    ex.on("entry", (header, stream, next) => {
      const chunks = [];
      stream.on("data", (c) => chunks.push(c));
      stream.on("end", () => {
        out.push({ header, data: Buffer.concat(chunks) });
        next();
      });
      stream.on("error", reject);
    });
    ex.on("finish", () => resolve(out));
    ex.on("error", reject);
    ex.end(buf);
  });
}

/** Undo gzip or zstd compression, recognised by magic bytes. */
export function decompress(buf) {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return gunzipSync(buf);
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0xfd2fb528) {
    const r = spawnSync("zstd", ["-dc"], { input: buf, maxBuffer: 1 << 30 });
    if (r.error || r.status !== 0) throw new Error(`cannot decompress a zstd layer: ${r.error?.message ?? r.stderr.toString()} (apt-get install zstd)`);
    return r.stdout;
  }
  return buf;
}

/** A reader of named files, over a tar's members or a directory. */
async function openSource(path) {
  if (statSync(path).isDirectory()) {
    return { has: (n) => existsSync(join(path, n)), get: (n) => readFileSync(join(path, n)) };
  }
  const files = new Map();
  const links = [];
  for (const { header, data } of await readTar(readFileSync(path))) {
    const name = posix.normalize(header.name.replace(/^\.?\/+/, ""));
    if (header.type === "file" || header.type === "contiguous-file") files.set(name, data);
    // `docker save` stores a layer that appears twice once, the second as a symlink to the first.
    else if (header.type === "symlink") links.push([name, posix.normalize(posix.join(posix.dirname(name), header.linkname))]);
    else if (header.type === "link") links.push([name, posix.normalize(header.linkname.replace(/^\.?\/+/, ""))]);
  }
  for (const [name, target] of links) if (files.has(target)) files.set(name, files.get(target));
  return {
    has: (n) => files.has(n),
    get: (n) => {
      const d = files.get(n);
      if (!d) throw new Error(`${path}: archive has no member ${n}`);
      return d;
    },
  };
}

const blobPath = (digest) => `blobs/${digest.replace(":", "/")}`;

/** Follow an OCI index down to the first image manifest (linux first when several). */
function ociManifest(src, desc) {
  const doc = JSON.parse(src.get(blobPath(desc.digest)).toString());
  if (!Array.isArray(doc.manifests)) return doc;
  const list = doc.manifests.filter((m) => !m.annotations?.["vnd.docker.reference.type"]);
  const pick = list.find((m) => !m.platform || m.platform.os === "linux") ?? list[0];
  if (!pick) throw new Error("OCI index lists no image manifest");
  return ociManifest(src, pick);
}

/**
 * Open a saved image (docker-archive tar, OCI archive tar or OCI layout dir); the first image when it holds several.
 * @returns {{config: object, layers: Buffer[]}} the parsed config and the uncompressed layer tars, bottom first
 */
export async function readImage(path) {
  const src = await openSource(path);
  if (src.has("manifest.json")) {
    const [m] = JSON.parse(src.get("manifest.json").toString());
    if (!m) throw new Error(`${path}: manifest.json lists no image`);
    return { config: JSON.parse(src.get(m.Config).toString()), layers: m.Layers.map((l) => decompress(src.get(l))) };
  }
  if (src.has("index.json")) {
    const index = JSON.parse(src.get("index.json").toString());
    const first = index.manifests?.[0];
    if (!first) throw new Error(`${path}: index.json lists no manifest`);
    const man = ociManifest(src, first);
    return { config: JSON.parse(src.get(blobPath(man.config.digest)).toString()), layers: man.layers.map((l) => decompress(src.get(blobPath(l.digest)))) };
  }
  throw new Error(`${path}: neither a docker archive (manifest.json) nor an OCI layout (index.json)`);
}

const TYPES = { file: "file", "contiguous-file": "file", directory: "dir", symlink: "symlink", link: "hardlink", "character-device": "char", "block-device": "block", fifo: "fifo" };

/** "/a/b" from "./a/b/", "a/b" or "/a/b". The root is "/". */
export function normPath(p) {
  const s = p.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
  return s === "" || s === "." ? "/" : `/${s}`;
}

/** How an mtime is recorded: the exact second when pinned (<= CONTEXT_EPOCH), else "build". */
export function mtimeClass(date) {
  const s = Math.floor(date.getTime() / 1000);
  return s <= CONTEXT_EPOCH ? s : "build";
}

/**
 * The entries of one layer tar, in archive order: whiteouts become `{path, type: "whiteout"}` (the hidden path)
 * and opaque markers `{path, type: "opaque"}` (the directory); others carry type, mode, uid, gid, mtime and, by
 * type, size + sha256, link target, device numbers or xattrs.
 */
export async function listLayer(buf) {
  const out = [];
  for (const { header: h, data } of await readTar(buf)) {
    const path = normPath(h.name);
    const base = path.slice(path.lastIndexOf("/") + 1);
    if (base === ".wh..wh..opq") {
      out.push({ path: normPath(path.slice(0, -base.length)), type: "opaque" });
      continue;
    }
    if (base.startsWith(".wh.")) {
      out.push({ path: normPath(path.slice(0, -base.length) + base.slice(4)), type: "whiteout" });
      continue;
    }
    const type = TYPES[h.type] ?? `unknown:${h.type}`;
    // tar-stream applies PAX path and linkpath only: uid, gid and mtime records (large ids, mtimes before 1970 or
    // past 2242, which ustar fields cannot hold) win over the header fields here.
    const pax = (k) => (h.pax?.[k] !== undefined && Number.isFinite(Number(h.pax[k])) ? Number(h.pax[k]) : undefined);
    const e = { path, type, mode: (h.mode & 0o7777).toString(8).padStart(4, "0"), uid: pax("uid") ?? h.uid, gid: pax("gid") ?? h.gid };
    if (type === "file") Object.assign(e, { size: data.length, sha256: createHash("sha256").update(data).digest("hex") });
    if (type === "symlink") e.link = h.linkname;
    if (type === "hardlink") e.link = normPath(h.linkname);
    if (type === "char" || type === "block") Object.assign(e, { devmajor: h.devmajor, devminor: h.devminor });
    e.mtime = mtimeClass(pax("mtime") !== undefined ? new Date(pax("mtime") * 1000) : (h.mtime ?? new Date(0)));
    const xattrs = Object.entries(h.pax ?? {}).filter(([k]) => k.startsWith("SCHILY.xattr."));
    if (xattrs.length) e.xattrs = Object.fromEntries(xattrs.map(([k, v]) => [k.slice(13), v]).sort(([a], [b]) => (a < b ? -1 : 1)));
    out.push(e);
  }
  return out;
}

/** Apply layer listings bottom first, as a container runtime would: `Map<path, entry>` of what a user sees. */
export function mergeLayers(layers) {
  const fs = new Map();
  const dropUnder = (p) => {
    const prefix = p === "/" ? "/" : `${p}/`;
    for (const k of fs.keys()) if (k.startsWith(prefix)) fs.delete(k);
  };
  for (const entries of layers) {
    for (const e of entries) if (e.type === "opaque") dropUnder(e.path);
    for (const e of entries) {
      if (e.type === "opaque") continue;
      if (e.type === "whiteout") {
        fs.delete(e.path);
        dropUnder(e.path);
        continue;
      }
      const old = fs.get(e.path);
      if (old && old.type === "dir" && e.type !== "dir") dropUnder(e.path);
      fs.set(e.path, e);
    }
  }
  return fs;
}
