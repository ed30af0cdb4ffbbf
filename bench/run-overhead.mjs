#!/usr/bin/env node
// Measures tsbuild's sandbox costs: the per-RUN overhead of `true` on a busybox rootfs (target: < 30 ms median)
// and the start-up cost of entering a session (`tsbuild unshare -- true` vs plain `node -e ''`).
// Usage: node scripts/bundle.mjs && node bench/run-overhead.mjs [RUNS]   (as root or as a user with subuids)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const runs = Number(process.argv[2] ?? 50);
const api = await import(join(repo, "dist/index.js"));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const report = (name, xs) => console.log(`${name.padEnd(34)} median ${median(xs).toFixed(1)} ms  min ${Math.min(...xs).toFixed(1)}  max ${Math.max(...xs).toFixed(1)}  (n=${xs.length})`);

function time(cmd, args) {
  const xs = [];
  for (let i = 0; i < Math.min(runs, 20); i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed`);
    xs.push(ms(t0));
  }
  return xs;
}

const outcome = await api.ensureSession(process.argv.slice(1), { warn: (m) => process.stderr.write(m) });
if (!outcome.inside) {
  // We were re-executed inside a session and that copy printed the sandbox numbers; measure session start-up here.
  report("node -e '' (baseline)", time(process.execPath, ["-e", ""]));
  report("tsbuild unshare -- true", time(process.execPath, [join(repo, "bin/tsbuild.js"), "unshare", "--", "true"]));
  process.exit(outcome.exitCode);
}
console.log(`session: ${outcome.session.kind}${outcome.session.singleId ? " (single id)" : ""}`);
const dir = mkdtempSync(join(tmpdir(), "tsbuild-bench-"));
try {
  execFileSync("sh", ["-c", `mkdir -p ${dir}/bin ${dir}/etc && cp /bin/busybox ${dir}/bin/ && ln -s busybox ${dir}/bin/true && ln -s busybox ${dir}/bin/sh && echo 'root:x:0:0::/root:/bin/sh' > ${dir}/etc/passwd`]);
  const sandbox = api.createSandbox();
  const spec = { rootfs: dir, mounts: [], args: ["true"], env: ["PATH=/bin"], network: "host" };
  await sandbox.run(spec);
  for (const network of ["host", "none"]) {
    const xs = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = await sandbox.run({ ...spec, network });
      if (r.exitCode !== 0) throw new Error("true failed");
      xs.push(ms(t0));
    }
    report(`sandbox.run(true) network=${network}`, xs);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
