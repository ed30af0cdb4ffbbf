// Conformance cases: fixtures/conformance/<case>/{Dockerfile, context/, case.json?, expected.json}. The context is
// never built in place: prepareContext copies it and pins what git does not keep (modes, mtimes, empty dirs), so
// the reference and tsbuild see byte-identical contexts on any machine.
import { chmodSync, cpSync, existsSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { CONTEXT_EPOCH } from "./archive.mjs";

/** The fixtures root. */
export const CASES_ROOT = resolve(import.meta.dirname, "../../fixtures/conformance");

/** Name under which every case's base, the busybox rootfs tar, is imported (`docker import` / `tsbuild import`). */
export const BASE_IMAGE = "tsb-busybox:latest";

/** Name under which a case's image is tagged, so that a later case can build FROM it. */
export function caseImageName(name) {
  return `tsb-conformance/${name}:latest`;
}

/**
 * One case. case.json (optional) holds: buildArgs {NAME: value}, target, modes {"rel/path": "0600"} (applied
 * after the defaults 0755 for dirs and executables, 0644 for other files), mkdirs ["rel/dir"] (empty dirs, which
 * git cannot hold), dependsOn (a case whose image the Dockerfile uses as base, by caseImageName), secrets
 * {id: "file in the case dir"} (`--secret id=…,src=…`), scratch (true: the final stage is FROM scratch, so the
 * image has no base layer or history entry to skip), hardlinks {"rel/name": "rel/existing"} (extra names of a context
 * file, which git cannot hold: made after the copy, before modes and mtimes).
 */
export function loadCase(dir) {
  const d = resolve(dir);
  const name = d.slice(d.lastIndexOf("/") + 1);
  const optsPath = join(d, "case.json");
  const opts = existsSync(optsPath) ? JSON.parse(readFileSync(optsPath, "utf8")) : {};
  return {
    name,
    dir: d,
    dockerfile: join(d, "Dockerfile"),
    contextDir: join(d, "context"),
    expectedPath: join(d, "expected.json"),
    buildArgs: opts.buildArgs ?? {},
    target: opts.target,
    modes: opts.modes ?? {},
    mkdirs: opts.mkdirs ?? [],
    hardlinks: opts.hardlinks ?? {},
    dependsOn: opts.dependsOn,
    secrets: Object.fromEntries(Object.entries(opts.secrets ?? {}).map(([id, file]) => [id, join(d, file)])),
    base: opts.scratch ? { baseLayers: 0, baseHistory: 0 } : { baseLayers: 1, baseHistory: 1 },
    imageName: caseImageName(name),
  };
}

/** All cases under `root`, dependencies before their dependents, otherwise by name. */
export function listCases(root = CASES_ROOT) {
  const all = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, "Dockerfile")))
    .map((e) => loadCase(join(root, e.name)))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const byName = new Map(all.map((c) => [c.name, c]));
  const out = [];
  const seen = new Set();
  const visit = (c) => {
    if (seen.has(c.name)) return;
    seen.add(c.name);
    if (c.dependsOn) {
      const dep = byName.get(c.dependsOn);
      if (!dep) throw new Error(`conformance case ${c.name} depends on unknown case ${c.dependsOn}`);
      visit(dep);
    }
    out.push(c);
  };
  all.forEach(visit);
  return out;
}

/**
 * Copy the case's context to `dest` (created) with pinned metadata: dirs 0755, files 0755 when executable in the
 * checkout else 0644, then case.json `modes`; every entry (symlinks too) gets mtime = atime = CONTEXT_EPOCH.
 */
export function prepareContext(c, dest) {
  mkdirSync(dest, { recursive: true });
  if (existsSync(c.contextDir)) cpSync(c.contextDir, dest, { recursive: true, verbatimSymlinks: true });
  for (const d of c.mkdirs) mkdirSync(join(dest, d), { recursive: true });
  for (const [name, existing] of Object.entries(c.hardlinks ?? {})) {
    rmSync(join(dest, name), { force: true });
    linkSync(join(dest, existing), join(dest, name));
  }
  const walk = (p) => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      chmodSync(p, 0o755);
      for (const n of readdirSync(p)) walk(join(p, n));
    } else if (st.isFile()) {
      chmodSync(p, st.mode & 0o100 ? 0o755 : 0o644);
    }
  };
  walk(dest);
  for (const [rel, mode] of Object.entries(c.modes)) chmodSync(join(dest, rel), parseInt(mode, 8));
  const pin = (p) => {
    if (lstatSync(p).isDirectory()) for (const n of readdirSync(p)) pin(join(p, n));
    lutimesSync(p, CONTEXT_EPOCH, CONTEXT_EPOCH);
  };
  pin(dest);
  return dest;
}
