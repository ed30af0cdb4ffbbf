/**
 * `tsbuild prune` and `tsbuild du` end to end: the default prune keeps what images and cache records need,
 * `--all` drops the build cache and a rebuild after it runs every step, `--keep-storage` goes least recently used
 * first, cache mounts, and a prune during a build (which holds a lease) leaves the build intact.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { doctor, importBusybox, rawEvents, requireBundle, startTsbuild, stepNames, tempDir, tsbuild, type CliResult } from "../helpers/cli-e2e.js";

interface Du {
  readonly kinds: { kind: string; count?: number; bytes: number; reclaimable: number }[];
  readonly snapshots: { key: string; parent?: string; kind: string; bytes: number; usedBy?: string }[];
}

describe("tsbuild prune / du", () => {
  const dirs: string[] = [];
  let root: string;
  let ctx: string;

  const ok = (r: CliResult): CliResult => {
    if (r.status !== 0) throw new Error(`tsbuild exited ${r.status}:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    return r;
  };
  const cli = (args: readonly string[], r = root): CliResult => tsbuild([...args, "--root", r]);
  const du = (r = root): Du => JSON.parse(ok(cli(["du", "--json"], r)).stdout) as Du;
  const kind = (d: Du, k: string) => d.kinds.find((x) => x.kind === k)!;
  const committed = (d: Du): string[] => d.snapshots.filter((s) => s.kind === "committed").map((s) => s.key).sort();
  const dockerfile = (name: string, text: string): string => {
    writeFileSync(join(ctx, name), text);
    return join(ctx, name);
  };
  const build = (file: string, extra: readonly string[] = [], r = root): { ran: string[]; cached: string[] } => {
    const res = ok(cli(["build", "--progress=rawjson", "-f", file, ...extra, ctx], r));
    const events = rawEvents(res.stderr);
    // RUN steps only: FROM steps count as started when their base is resolved.
    const cached = [...stepNames(events, "vertex.cached")].filter((n) => / RUN /.test(n));
    return { ran: [...stepNames(events, "vertex.started")].filter((n) => / RUN /.test(n) && !cached.includes(n)).sort(), cached: cached.sort() };
  };
  const newRoot = async (): Promise<string> => {
    const dir = await tempDir("prune-root");
    dirs.push(dir);
    await importBusybox(dir);
    return dir;
  };

  beforeAll(async () => {
    requireBundle();
    ctx = await tempDir("prune-ctx");
    dirs.push(ctx);
    root = await newRoot();
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("keeps what images and records need, --all drops the build cache, and a rebuild after it runs every step", async () => {
    const file = dockerfile("Dockerfile.app", "FROM busybox\nRUN dd if=/dev/zero of=/big bs=1000 count=200 2>/dev/null\nRUN echo b > /b\n");
    const first = build(file, ["-t", "app"]);
    expect(first.ran).toHaveLength(2);
    const before = du();
    expect(committed(before)).toHaveLength(3); // busybox + two RUN layers
    expect(before.snapshots.find((s) => s.key.startsWith("chain-"))?.usedBy).toBe("image");
    expect(kind(before, "build cache records").count).toBeGreaterThanOrEqual(2);
    expect(kind(before, "snapshots").bytes).toBeGreaterThan(200_000);

    const pruned = ok(cli(["prune"]));
    expect(pruned.stdout).toContain("Deleted build cache records: 0");
    const after = du();
    expect(committed(after)).toEqual(committed(before));
    expect(kind(after, "blobs").count).toBe(kind(before, "blobs").count);
    expect(build(file).ran).toEqual([]);

    const all = ok(cli(["prune", "--all"]));
    expect(all.stdout).toMatch(/Deleted snapshot: layer-/);
    const empty = du();
    expect(committed(empty)).toEqual(committed(before).filter((k) => k.startsWith("chain-")));
    expect(kind(empty, "build cache records").count).toBe(0);
    // Only what the images (busybox, app) reference is left.
    expect(kind(empty, "blobs").reclaimable).toBe(0);
    expect(kind(empty, "blobs").bytes).toBe(kind(empty, "images").bytes);
    expect(doctor(root).ok).toBe(true);

    const rebuilt = build(file, ["-t", "app"]);
    expect(rebuilt.ran).toEqual(expect.arrayContaining(first.ran));
    expect(build(file).ran).toEqual([]);
    expect(doctor(root).ok).toBe(true);
  });

  it("--keep-storage drops the least recently used cache first", async () => {
    const r = await newRoot();
    const files = ["a", "b", "c"].map((n) => dockerfile(`Dockerfile.${n}`, `FROM busybox\nRUN dd if=/dev/zero of=/${n} bs=1000 count=300 2>/dev/null\n`));
    for (const f of files) build(f, [], r);
    await new Promise((res) => setTimeout(res, 20));
    expect(build(files[0]!, [], r).ran).toEqual([]); // a hit on A makes B the least recently used
    const total = kind(du(r), "snapshots").bytes;
    ok(cli(["prune", "--keep-storage", String(total - 150_000)], r));
    expect(kind(du(r), "snapshots").bytes).toBe(total - 300_000);
    expect(build(files[0]!, [], r).ran).toEqual([]);
    expect(build(files[2]!, [], r).ran).toEqual([]);
    expect(build(files[1]!, [], r).ran).toHaveLength(1);
    expect(cli(["prune", "--filter", "until=soon"], r).status).toBe(2);
    ok(cli(["prune", "--filter", "until=1h"], r));
  });

  it("keeps cache mounts unless asked, and --cache-mounts removes them", async () => {
    const file = dockerfile("Dockerfile.mount", "FROM busybox\nRUN --mount=type=cache,target=/cache echo hi > /cache/x && cat /cache/x\n");
    build(file);
    expect(kind(du(), "cache mounts").count).toBe(1);
    ok(cli(["prune"]));
    expect(kind(du(), "cache mounts").count).toBe(1);
    const res = ok(cli(["prune", "--cache-mounts"]));
    expect(res.stdout).toMatch(/Deleted cache mount: [0-9a-f]{64}/);
    expect(kind(du(), "cache mounts")).toMatchObject({ count: 0, bytes: 0 });
  });

  it("a prune --all while a build runs leaves the build and the snapshots it uses intact", async () => {
    const r = await newRoot();
    // While `sleep` runs, the side stage's layer is committed but no running step sits on it: only the build's
    // lease keeps it from the prune until COPY --from reads it.
    const file = dockerfile(
      "Dockerfile.sleep",
      "FROM busybox AS side\nRUN echo side > /side\nFROM busybox\nRUN echo s > /s\nRUN sleep 5\nCOPY --from=side /side /side\nRUN cat /s /side > /after\n",
    );
    const running = startTsbuild(["build", "--progress=rawjson", "-f", file, "-t", "slow", ctx, "--root", r]);
    await running.waitFor(/"vertex\.started"[^\n]*RUN sleep 5/);
    await running.waitFor(/"vertex\.done"[^\n]*RUN echo side/);
    const during = du(r);
    const used = committed(during);
    expect(used).toHaveLength(3); // busybox, side and the first RUN
    expect(during.snapshots.filter((s) => s.kind === "committed").map((s) => s.usedBy)).not.toContain(undefined);
    ok(cli(["prune", "--all"], r));
    const res = await running.done;
    expect(res.status).toBe(0);
    const after = committed(du(r));
    for (const k of used) expect(after).toContain(k);
    expect(after).toHaveLength(6);
    expect(readdirSync(join(r, "leases"))).toEqual([]);
    expect(doctor(r).ok).toBe(true);
    // The image is whole: a build FROM it reads its layers.
    const check = dockerfile("Dockerfile.check", "FROM slow\nRUN test \"$(cat /after)\" = \"$(printf 's\\nside')\"\n");
    expect(build(check, [], r).ran).toHaveLength(1);
  }, 60_000);
});
