// The conformance judge: turn a saved image into an expectation (config fields, history, per-layer tar listings,
// merged filesystem) and diff two expectations, field by field and path by path. Used by generate.mjs (reference
// side), compare.mjs (CLI) and test/helpers/conformance.ts (tsbuild side). Every normalization is listed in
// fixtures/conformance/README.md; keep them few, the point is exactness.
import { listLayer, mergeLayers, readImage } from "./archive.mjs";

export { readImage, listLayer, mergeLayers, normPath, mtimeClass, decompress, readTar, CONTEXT_EPOCH } from "./archive.mjs";
export { loadCase, listCases, prepareContext, caseImageName, BASE_IMAGE } from "./cases.mjs";
export { startHttpServer, HTTP_BASE, HTTP_PORT, HTTP_LAST_MODIFIED } from "./http-server.mjs";

/** Config fields judged (in this order); null and absent are the same. */
export const CONFIG_FIELDS = ["User", "Env", "Entrypoint", "Cmd", "WorkingDir", "ExposedPorts", "Volumes", "Labels", "StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped"];

/**
 * Directories a container runtime creates or touches to run a RUN step (mount points of /proc, /dev, /sys and the
 * /etc that holds the hosts and resolv.conf stubs). Docker 20.10's BuildKit leaves them in the RUN layer; later
 * BuildKit removes its stubs. The comparator ignores such a directory entry when nothing else under it changed.
 */
export const RUNTIME_STUB_DIRS = ["/dev", "/etc", "/proc", "/sys"];

/** Normalize a history `created_by`: drop the ` # buildkit` marker whose presence varies by builder version. */
export function normCreatedBy(s) {
  return (s ?? "").replace(/ # buildkit$/, "");
}

const sortEntries = (list) => [...list].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

/**
 * Expectation of a saved image.
 * @param {{config: object, layers: Buffer[]}} image from readImage
 * @param {{baseLayers?: number, baseHistory?: number}} base how many layers and history entries the base image has
 */
export async function imageExpectation(image, base = {}) {
  const baseLayers = base.baseLayers ?? 1;
  const baseHistory = base.baseHistory ?? 1;
  const c = image.config;
  const cfg = {};
  for (const k of CONFIG_FIELDS) if (c.config?.[k] !== undefined && c.config[k] !== null) cfg[k] = c.config[k];
  const listings = [];
  for (const l of image.layers) listings.push(await listLayer(l));
  const baseFs = mergeLayers(listings.slice(0, baseLayers));
  const fs = mergeLayers(listings);
  const changed = [];
  for (const [p, e] of fs) {
    const b = baseFs.get(p);
    if (!b || canonicalJson(b) !== canonicalJson(e)) changed.push(e);
  }
  const removed = [...baseFs.keys()].filter((p) => !fs.has(p)).sort();
  return {
    schema: 1,
    base: { layers: baseLayers, history: baseHistory, diffIds: (c.rootfs?.diff_ids ?? []).slice(0, baseLayers) },
    image: { architecture: c.architecture, os: c.os, config: cfg },
    history: (c.history ?? []).slice(baseHistory).map((h) => ({
      created_by: h.created_by ?? "",
      ...(h.comment !== undefined ? { comment: h.comment } : {}),
      empty_layer: Boolean(h.empty_layer),
    })),
    layers: listings.slice(baseLayers).map(sortEntries),
    merged: { changed: sortEntries(changed), removed },
  };
}

/** Expectation of the saved image at `path` (docker-archive, OCI archive or OCI dir). */
export async function archiveExpectation(path, base) {
  return imageExpectation(await readImage(path), base);
}

function isStub(e, layer) {
  if (!RUNTIME_STUB_DIRS.includes(e.path) || e.type !== "dir" || e.mode !== "0755" || e.uid !== 0 || e.gid !== 0) return false;
  return !layer.some((o) => o.path.startsWith(`${e.path}/`));
}

/**
 * Apply the comparator's normalizations to an expectation (a copy): runtime stub directories leave the layers and
 * the merged view; a layer left empty is dropped and its history entry becomes `empty_layer`; `created_by` loses
 * the ` # buildkit` marker.
 */
export function normalizeExpectation(x) {
  const history = x.history.map((h) => ({ ...h, created_by: normCreatedBy(h.created_by) }));
  const layers = [];
  let li = 0;
  for (const h of history) {
    if (h.empty_layer) continue;
    const raw = x.layers[li++];
    if (!raw) continue;
    const kept = raw.filter((e) => !isStub(e, raw));
    if (kept.length === 0) h.empty_layer = true;
    else layers.push({ label: h.created_by, entries: kept });
  }
  for (; li < x.layers.length; li++) {
    const raw = x.layers[li];
    const kept = raw.filter((e) => !isStub(e, raw));
    if (kept.length) layers.push({ label: "(no history entry)", entries: kept });
  }
  const changed = x.merged.changed.filter((e) => !isStub(e, x.merged.changed));
  return { ...x, history, layers, merged: { changed, removed: x.merged.removed } };
}

/** JSON with object keys sorted: key order of maps (Labels, ExposedPorts, Volumes, xattrs) is not judged. */
export function canonicalJson(v) {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}
const same = (a, b) => canonicalJson(a) === canonicalJson(b);
const show = (v) => (v === undefined ? "(absent)" : canonicalJson(v));
const ENTRY_FIELDS = ["type", "mode", "uid", "gid", "size", "sha256", "link", "devmajor", "devminor", "mtime", "xattrs"];

/** Key of an entry within one listing: a path may carry both a directory and its opaque marker. */
const entryKey = (e) => (e.type === "opaque" ? `${e.path} (opaque marker)` : e.type === "whiteout" ? `${e.path} (whiteout)` : e.path);

function diffEntries(where, exp, act, out) {
  const e = new Map(exp.map((x) => [entryKey(x), x]));
  const a = new Map(act.map((x) => [entryKey(x), x]));
  for (const [p, x] of e) {
    const y = a.get(p);
    if (!y) {
      out.push(`${where} ${p}: missing (expected ${x.type}${x.mode ? ` ${x.mode} ${x.uid}:${x.gid}` : ""})`);
      continue;
    }
    for (const f of ENTRY_FIELDS) {
      if (!same(x[f], y[f])) out.push(`${where} ${p}: ${f} expected ${show(x[f])}, actual ${show(y[f])}`);
    }
  }
  for (const [p, y] of a) if (!e.has(p)) out.push(`${where} ${p}: unexpected ${y.type}${y.mode ? ` ${y.mode} ${y.uid}:${y.gid}` : ""}`);
}

/**
 * Differences between an expected and an actual expectation, as precise one-line messages (empty when they
 * conform). Both sides are normalized first (see normalizeExpectation). Layer entries are compared as sets keyed
 * by path: entry order inside a layer is not judged.
 */
export function compareExpectations(expected, actual) {
  const out = [];
  const x = normalizeExpectation(expected);
  const y = normalizeExpectation(actual);
  for (const k of ["architecture", "os"]) if (x.image[k] !== y.image[k]) out.push(`config.${k}: expected ${show(x.image[k])}, actual ${show(y.image[k])}`);
  for (const k of CONFIG_FIELDS) {
    const a = x.image.config[k];
    const b = y.image.config[k];
    if (!same(a, b)) out.push(`config.config.${k}: expected ${show(a)}, actual ${show(b)}`);
  }
  if (x.history.length !== y.history.length) {
    out.push(`history: expected ${x.history.length} entries after the base, actual ${y.history.length}`);
  }
  for (let i = 0; i < Math.max(x.history.length, y.history.length); i++) {
    const a = x.history[i];
    const b = y.history[i];
    if (!a || !b) {
      out.push(`history[${i}]: expected ${show(a)}, actual ${show(b)}`);
      continue;
    }
    for (const f of ["created_by", "comment", "empty_layer"]) {
      if (a[f] !== b[f]) out.push(`history[${i}] (${a.created_by}).${f}: expected ${show(a[f])}, actual ${show(b[f])}`);
    }
  }
  if (x.layers.length !== y.layers.length) out.push(`layers: expected ${x.layers.length} after the base, actual ${y.layers.length}`);
  for (let i = 0; i < Math.max(x.layers.length, y.layers.length); i++) {
    diffEntries(`layer[${i}] (${x.layers[i]?.label ?? y.layers[i]?.label})`, x.layers[i]?.entries ?? [], y.layers[i]?.entries ?? [], out);
  }
  diffEntries("merged", x.merged.changed, y.merged.changed, out);
  const removedA = new Set(x.merged.removed);
  const removedB = new Set(y.merged.removed);
  for (const p of removedA) if (!removedB.has(p)) out.push(`merged ${p}: expected removed from the base, actual present`);
  for (const p of removedB) if (!removedA.has(p)) out.push(`merged ${p}: expected present (from the base), actual removed`);
  return out;
}
