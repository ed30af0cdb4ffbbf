import type { CommandModule } from "yargs";

/** Everything `tsbuild doctor` found, as printed by `--json`. */
export interface DoctorReport {
  readonly ok: boolean;
  readonly root: string;
  readonly files: import("../../store/index.js").RootCheckReport;
  readonly sandboxes: readonly import("../../executor/index.js").SandboxProcess[];
  readonly store: import("../../store/index.js").FsckReport;
  readonly cache: import("../../cache/index.js").CacheCheckReport;
  /** Which gzip backend layer exports use here (libdeflate, else pigz, else zlib) and how to get the fast one. */
  readonly gzip: import("../../snapshot/index.js").GzipBackendStatus;
}

/**
 * Check a tsbuild root. Leftovers of dead processes are looked for before anything opens the root, because opening
 * it (store, snapshotter) reaps them. Must run as session root (the snapshotter probes mounts).
 */
export async function runDoctor(rootOpt: string | undefined): Promise<DoctorReport> {
  const [store, image, cache, snapshot, executor] = await Promise.all([
    import("../../store/index.js"),
    import("../../image/index.js"),
    import("../../cache/index.js"),
    import("../../snapshot/index.js"),
    import("../../executor/index.js"),
  ]);
  const root = store.resolveRoot({ root: rootOpt });
  const layout = store.rootLayout(root);
  const files = await store.checkRoot(layout, { tempDirs: ["cache/records", "cache/layers", "cache/builds"] });
  const sandboxes = executor.findSandboxProcesses(root);
  const images = await image.openImageStore(root);
  const fsck = await store.fsck(images.store, { providers: [images.rootProvider()] });
  const snapshotter = await snapshot.createSnapshotter(layout.snapshots);
  try {
    const cacheReport = await cache.checkCache({ layout, store: images.store, snapshotter });
    const partial = fsck.partial.some((p) => !p.live);
    const ok = files.ok && fsck.ok && !partial && cacheReport.ok && !sandboxes.some((s) => s.orphaned);
    return { ok, root, files, sandboxes, store: fsck, cache: cacheReport, gzip: snapshot.gzipBackendStatus() };
  } finally {
    await snapshotter.close();
  }
}

/** The human-readable form of a report: one line per finding, then a verdict. */
export function formatDoctorReport(r: DoctorReport): string {
  const lines: string[] = [`root: ${r.root}`];
  for (const c of r.store.corrupt) lines.push(`corrupt blob: ${c.digest} (content hashes to ${c.actual ?? "?"})`);
  for (const d of r.store.dangling) lines.push(`missing blob: ${d} (referenced by an image)`);
  for (const p of r.store.partial) lines.push(`partial blob: ingest/${p.name}${p.live ? " (being written)" : " (left by a dead process)"}`);
  for (const t of r.files.strayTemps) lines.push(`stray temp file: ${t.path} (${t.reason})`);
  for (const l of r.files.staleLocks) lines.push(`stale lock: ${l.path} (${l.reason})`);
  for (const m of r.files.mounts) lines.push(`mount below the root: ${m}`);
  for (const s of r.sandboxes) {
    lines.push(`sandbox process ${s.pid}${s.orphaned ? " outlived its build" : " (build running)"}: ${s.command.join(" ")}`);
  }
  for (const f of [...r.cache.corrupt, ...r.cache.dangling, ...r.cache.orphaned]) lines.push(`${f.what}: ${f.reason}`);
  lines.push(r.gzip.backend === "libdeflate"
    ? "gzip backend: libdeflate (all cores)"
    : `gzip backend: ${r.gzip.backend}, slower than libdeflate (${(r.gzip.reason ?? "not built").split("\n")[0]}); ${r.gzip.hint ?? ""}`);
  lines.push(
    `checked ${r.store.checked} blobs, ${r.cache.records} cache records, ${r.cache.snapshots} snapshots` +
      (r.cache.unreferenced.length > 0 ? ` (${r.cache.unreferenced.length} unreferenced, reclaimable)` : ""),
  );
  lines.push(r.ok ? "doctor: no problems found" : "doctor: problems found");
  return `${lines.join("\n")}\n`;
}

export const command: CommandModule<object, any> = {
  command: "doctor",
  describe: "Check the tsbuild root: blobs, cache records, snapshots, leftovers of killed builds (mounts, processes, temp files)",
  builder: (y) => y.option("json", { type: "boolean", default: false, describe: "Print the report as JSON" }),
  handler: async (argv) => {
    const { ensureSession } = await import("../../executor/index.js");
    const outcome = await ensureSession(process.argv.slice(1));
    if (!outcome.inside) {
      process.exitCode = outcome.exitCode;
      return;
    }
    const report = await runDoctor(typeof argv.root === "string" ? argv.root : undefined);
    process.stdout.write(argv.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    if (!report.ok) process.exitCode = 1;
  },
};
