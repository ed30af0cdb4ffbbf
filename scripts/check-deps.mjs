#!/usr/bin/env node
/**
 * Room dependency check (STYLE.md section (b) and convention 12). Reads the imports of src/**\/*.ts, maps every
 * file to its room, and reports: imports a room's row does not allow, type-only rows used for values, imports into
 * another room's internals (anything but the room's entry files), I/O modules in the pure rooms, files no room
 * owns, and cycles between rooms. Usage: `node scripts/check-deps.mjs [--json] [--graph]`; exit 1 on a violation.
 * It lexes with a regex (comments blanked, strings kept), not the TypeScript compiler, to stay well under a second.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The rooms: `files` says which src/ paths belong to the room (a file, or a folder ending in `/`; the longest match
 * wins), `entries` which of them other rooms may import (convention 12: the room's index.ts), `may` which rooms it
 * may import (`types` ones only with `import type`), `pure` that it must not import Node's I/O modules.
 * util and errors are leaves every room may use. Keep this table and STYLE.md's in step.
 */
export const ROOMS = Object.freeze({
  util: { files: ["util/"], entries: ["util/"], may: [] },
  errors: { files: ["errors.ts"], entries: ["errors.ts"], may: [] },
  graph: { files: ["graph/"], entries: ["graph/index.ts"], may: [], pure: true },
  "progress/events": { files: ["progress/events.ts"], entries: ["progress/events.ts"], may: [], pure: true },
  parser: { files: ["parser/"], entries: ["parser/index.ts"], may: [], pure: true },
  store: { files: ["store/"], entries: ["store/index.ts"], may: [] },
  snapshot: { files: ["snapshot/"], entries: ["snapshot/index.ts"], may: [] },
  executor: { files: ["executor/"], entries: ["executor/index.ts"], may: [] },
  context: { files: ["context/"], entries: ["context/index.ts"], may: [] },
  // The local image database (tags → manifests) and archive load/save keep their blobs in the content store.
  image: { files: ["image/"], entries: ["image/index.ts"], may: ["store"] },
  progress: { files: ["progress/"], entries: ["progress/index.ts"], may: ["progress/events"] },
  registry: { files: ["registry/"], entries: ["registry/index.ts"], may: ["image", "store"] },
  // The local build cache implements the solver's CacheStore.
  cache: { files: ["cache/"], entries: ["cache/index.ts"], may: ["store", "snapshot"], types: ["graph", "solver"] },
  // Shared (registry/local) cache import and export: loaded only when a build asks for it.
  "cache/remote": {
    files: ["cache/remote/"],
    entries: ["cache/remote/index.ts"],
    may: ["cache", "store", "snapshot", "solver", "image", "registry", "exporter", "progress/events"],
  },
  frontend: { files: ["frontend/"], entries: ["frontend/index.ts"], may: ["parser", "graph", "image"], pure: true },
  solver: { files: ["solver/"], entries: ["solver/index.ts"], may: ["graph", "progress/events"], pure: true },
  // ops implements the frontend's ImageMetaResolver.
  ops: {
    files: ["ops/"],
    entries: ["ops/index.ts"],
    may: ["graph", "executor", "snapshot", "cache", "context", "registry", "store", "image", "progress/events"],
    types: ["solver", "frontend"],
  },
  exporter: {
    files: ["exporter/"],
    entries: ["exporter/index.ts"],
    may: ["image", "store", "snapshot", "cache", "registry", "progress/events"],
  },
  // The composition root: the only code that wires concrete rooms together (with its option parsing and records).
  build: { files: ["build.ts", "build-options.ts", "build-records.ts"], entries: ["build.ts", "build-options.ts", "build-records.ts"], may: ["*"] },
  index: { files: ["index.ts"], entries: ["index.ts"], may: ["*"] },
  // The CLI loads each room it needs lazily, per command, through the room's index.ts (start-up time). Concrete
  // ops are wired by build.ts only.
  cli: {
    files: ["cli/"],
    entries: ["cli/main.ts"],
    may: ["build", "progress", "progress/events", "parser", "frontend", "graph", "solver", "image", "registry", "store", "snapshot", "cache", "cache/remote", "exporter", "executor", "context"],
  },
});

/** Node modules the pure rooms must not import: they get data, never paths, processes or sockets. */
const IO_MODULES = new Set(["fs", "fs/promises", "child_process", "net", "http", "https", "dgram", "worker_threads"]);
const ALWAYS = new Set(["util", "errors"]);

/** One violation: `from` imports `to` (paths relative to the repository, `to` may be a module name). */
export function formatViolation(v) {
  return `${v.from} → ${v.to}: ${v.rule}`;
}

const STRIP = /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g;
const IMPORT_RE =
  /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?([\w*${},\s]*?)\s*from\s*["']([^"'\n]+)["']|(?:^|[;\n])\s*import\s*["']([^"'\n]+)["']|\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)/g;

/**
 * The module specifiers a TypeScript source imports: static imports and re-exports, side-effect imports,
 * `import("…")` calls and types. `typeOnly` is true for `import type`/`export type` and for clauses whose every
 * named binding is `type`. Comments are ignored.
 */
export function scanImports(text) {
  const code = text.replace(STRIP, (m, str) => (str !== undefined ? str : m.replace(/[^\n]/g, " ")));
  const out = [];
  for (const m of code.matchAll(IMPORT_RE)) {
    if (m[4] !== undefined) {
      const clause = m[3] ?? "";
      const named = /^\{([\s\S]*)\}$/.exec(clause.trim());
      const parts = named ? named[1].split(",").map((s) => s.trim()).filter(Boolean) : [];
      const allTypes = parts.length > 0 && parts.every((p) => p.startsWith("type "));
      out.push({ specifier: m[4], typeOnly: m[2] !== undefined || allTypes });
    } else {
      out.push({ specifier: m[5] ?? m[6], typeOnly: false });
    }
  }
  return out;
}

/** The room that owns `srcPath` (relative to src/, posix), or undefined. */
export function roomOf(srcPath, rooms = ROOMS) {
  let best;
  let bestLen = -1;
  for (const [name, room] of Object.entries(rooms)) {
    for (const f of room.files) {
      const hit = f.endsWith("/") ? srcPath.startsWith(f) : srcPath === f;
      if (hit && f.length > bestLen) {
        best = name;
        bestLen = f.length;
      }
    }
  }
  return best;
}

function isEntry(srcPath, room) {
  return room.entries.some((e) => (e.endsWith("/") ? srcPath.startsWith(e) : srcPath === e));
}

/**
 * Check a set of sources. `files` maps a path relative to src/ (posix, e.g. `solver/scheduler.ts`) to its text.
 * Returns the violations (paths shown as `src/…`) and the room graph (`from` room → `to` room → edge count).
 */
export function checkSources(files, rooms = ROOMS) {
  const violations = [];
  const graph = new Map();
  const firstEdge = new Map();
  const seen = new Set();
  const add = (from, to, rule) => {
    const v = { from: `src/${from}`, to: to.startsWith("node:") ? to : `src/${to}`, rule };
    const key = formatViolation(v);
    if (!seen.has(key)) violations.push(v);
    seen.add(key);
  };
  for (const [path, text] of files) {
    const fromRoom = roomOf(path, rooms);
    if (fromRoom === undefined) {
      violations.push({ from: `src/${path}`, to: "(none)", rule: "no room owns this file: add it to ROOMS in scripts/check-deps.mjs" });
      continue;
    }
    const from = rooms[fromRoom];
    for (const imp of scanImports(text)) {
      const spec = imp.specifier;
      if (!spec.startsWith(".")) {
        const mod = spec.replace(/^node:/, "");
        if (from.pure && IO_MODULES.has(mod)) add(path, spec, `${fromRoom} is pure and must not import Node's ${mod}`);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(path), spec)).replace(/\.js$/, ".ts");
      if (target.startsWith("../")) continue;
      const toRoom = roomOf(target, rooms);
      if (toRoom === undefined || toRoom === fromRoom) continue;
      const to = rooms[toRoom];
      if (!graph.has(fromRoom)) graph.set(fromRoom, new Map());
      const row = graph.get(fromRoom);
      row.set(toRoom, (row.get(toRoom) ?? 0) + 1);
      const key = `${fromRoom}\0${toRoom}`;
      if (!firstEdge.has(key)) firstEdge.set(key, { from: path, to: target });
      const allowed = ALWAYS.has(toRoom) || from.may.includes("*") || from.may.includes(toRoom);
      const typesAllowed = (from.types ?? []).includes(toRoom);
      if (!allowed && !typesAllowed) add(path, target, `${fromRoom} may not import ${toRoom} (STYLE.md dependency table)`);
      else if (!allowed && !imp.typeOnly) add(path, target, `${fromRoom} may import only types from ${toRoom}: use \`import type\``);
      if (!isEntry(target, to)) add(path, target, `imports the internals of ${toRoom}: import ${to.entries.map((e) => `src/${e}`).join(" or ")} instead`);
    }
  }
  for (const cycle of roomCycles(graph)) {
    const ring = [...cycle, cycle[0]];
    for (let i = 0; i < cycle.length; i++) {
      const e = firstEdge.get(`${ring[i]}\0${ring[i + 1]}`);
      add(e.from, e.to, `rooms import each other: ${ring.join(" → ")}`);
    }
  }
  return { violations, graph };
}

/** The cycles of the room graph: one ring per strongly connected component of two or more rooms (Tarjan). */
export function roomCycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const sccs = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) sccs.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  // Report each component as one ring through its rooms (a shortest path back from each step).
  return sccs.map((scc) => ringThrough(graph, new Set(scc)));
}

function ringThrough(graph, members) {
  const start = [...members].sort()[0];
  // Breadth-first from start back to start inside the component gives the shortest ring through it.
  const prev = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const ring = [v];
        for (let u = v; u !== start; ) {
          u = prev.get(u);
          ring.unshift(u);
        }
        return ring;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...members];
}

/** Read every src/**\/*.ts of the repository at `repo`. */
export function readSources(repo) {
  const src = join(repo, "src");
  const files = new Map();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) files.set(relative(src, p).split("\\").join("/"), readFileSync(p, "utf8"));
    }
  };
  walk(src);
  return files;
}

/** Check the repository at `repo` (default: this script's repository). */
export function checkRepo(repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")) {
  return checkSources(readSources(repo));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { violations, graph } = checkRepo();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ violations, graph: Object.fromEntries([...graph].map(([k, v]) => [k, Object.fromEntries(v)])) }));
  } else {
    if (process.argv.includes("--graph")) for (const [from, row] of [...graph].sort()) console.log(`${from} → ${[...row.keys()].sort().join(", ")}`);
    for (const v of violations) console.error(formatViolation(v));
    if (violations.length === 0) console.log("check-deps: room dependencies follow the table");
  }
  process.exitCode = violations.length === 0 ? 0 : 1;
}
