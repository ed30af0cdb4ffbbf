import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openContext } from "../../../src/context/index.js";
import { createFileOp } from "../../../src/ops/file.js";
import type { OpDeps, OpResult } from "../../../src/ops/types.js";
import type { ProgressEvent } from "../../../src/progress/events.js";
import { rootLayout } from "../../../src/store/index.js";
import type { BuildRef } from "../../../src/cache/index.js";
import type { FileAction } from "../../../src/graph/index.js";
import { copyCtx, fileVertex, openHarness, type Harness } from "./file-harness.js";
import { rng } from "../../helpers/rng.js";

describe("incremental COPY from the build context", () => {
  let h: Harness;
  let deps: OpDeps;
  let base: BuildRef;
  let ctxDir: string;
  beforeAll(async () => {
    h = await openHarness();
    deps = { ...h.deps, snapshotter: h.snap, layout: rootLayout(h.dir) } as OpDeps;
    // A base with files the copy shadows (and, once they leave the context, shows again).
    const w = await h.refs.prepare(h.base);
    await mkdir(join(w.path, "ctx/d0"), { recursive: true });
    await writeFile(join(w.path, "ctx/shadow.txt"), "from the base\n");
    await writeFile(join(w.path, "ctx/d0/basefile"), "base d0\n");
    base = await w.commit();
    ctxDir = await mkdtemp(join(tmpdir(), "tsb-incr-ctx-"));
  });
  afterAll(async () => {
    await h?.close();
    await rm(ctxDir, { recursive: true, force: true });
  });

  async function put(rel: string, content: string, mode = 0o644, mtime = 1_600_000_000): Promise<void> {
    const abs = join(ctxDir, rel);
    await mkdir(dirname(abs), { recursive: true });
    await rm(abs, { recursive: true, force: true });
    await writeFile(abs, content);
    await chmod(abs, mode);
    await utimes(abs, mtime, mtime);
  }

  async function run(actions: readonly FileAction[], ignoreCache: boolean): Promise<{ ref: BuildRef; log: string }> {
    const v = fileVertex(actions);
    const op = createFileOp(v, deps, { ignoreCache });
    const context = await openContext({ root: ctxDir });
    const events: ProgressEvent[] = [];
    const results: OpResult[] = [{ kind: "fs", ref: base }, { kind: "local", context }, { kind: "fs", ref: base }];
    const r = await op.exec(results, { signal: new AbortController().signal, progress: (e) => events.push(e), vertex: { digest: v.digest, name: "t" } });
    if (r.kind !== "fs") throw new Error("not fs");
    const log = events.map((e) => (e.type === "vertex.log" ? Buffer.from(e.data).toString() : "")).join("");
    return { ref: r.ref, log };
  }

  /** Every path under /ctx: type, mode, owner, mtime (dirs only when `dirTimes`), content or link target. */
  async function dump(ref: BuildRef, dirTimes: boolean): Promise<Record<string, string>> {
    const view = await h.refs.view(ref);
    try {
      const out: Record<string, string> = {};
      const visit = async (abs: string, rel: string): Promise<void> => {
        const st = await lstat(abs);
        const head = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
        if (st.isDirectory()) {
          const names = (await readdir(abs)).sort();
          out[rel] = `dir ${head}${dirTimes || names.length === 0 ? ` ${st.mtimeMs}` : ""}`;
          for (const n of names) await visit(join(abs, n), `${rel}/${n}`);
        } else if (st.isSymbolicLink()) out[rel] = `link ${st.uid}:${st.gid} ${st.mtimeMs} -> ${await readlink(abs)}`;
        else out[rel] = `file ${head} ${st.mtimeMs} ${JSON.stringify(await readFile(abs, "utf8"))}`;
      };
      await visit(join(view.path, "ctx"), "ctx");
      return out;
    } finally {
      await view.release();
    }
  }

  /** The layer as the exporter sees it: entry kinds and paths, and xattrs. */
  async function layer(ref: BuildRef): Promise<string[]> {
    const d = await h.snap.diff(ref.layers[ref.layers.length - 1]!.snapshot);
    return [...d.entries.map((e) => `${e.kind} ${e.path}${e.kind === "entry" ? ` ${e.stat.mode.toString(8)}` : ""}`), ...[...d.xattrs].map(([p, m]) => `xattr ${p} ${[...m.keys()].join(",")}`)];
  }

  async function checkRound(actions: readonly FileAction[], prev: BuildRef): Promise<BuildRef> {
    const before = await dump(prev, true);
    const inc = await run(actions, false);
    expect(inc.log).toMatch(/incremental copy: \d+ changed, \d+ removed, \d+ linked/);
    const full = await run(actions, true);
    expect(full.log).toBe("");
    expect(await dump(inc.ref, false)).toEqual(await dump(full.ref, false));
    expect(await layer(inc.ref)).toEqual(await layer(full.ref));
    // The layer the clone was made from is untouched: contents, modes, owners and times.
    expect(await dump(prev, true)).toEqual(before);
    return inc.ref;
  }

  it("gives the tree a full copy gives, for random deltas, and leaves the earlier layer alone", async () => {
    const rand = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    for (let i = 0; i < 40; i++) await put(`d${i % 4}/f${i}.txt`, `file ${i}\n`, pick([0o644, 0o600, 0o755]), 1_600_000_000 + i);
    await put("shadow.txt", "from the context\n");
    await mkdir(join(ctxDir, "empty"), { recursive: true });
    await utimes(join(ctxDir, "empty"), 1_500_000_000, 1_500_000_000);
    await symlink("d0/f0.txt", join(ctxDir, "link"));
    const actions = [copyCtx(".", "/ctx/")];
    let prev = (await run(actions, false)).ref;

    for (let round = 0; round < 4; round++) {
      const files = (await readdir(ctxDir, { recursive: true })).map(String).filter((p) => /f\d+\.txt$/.test(p));
      for (let k = 0; k < 3; k++) {
        const f = pick(files);
        switch (Math.floor(rand() * 4)) {
          case 0:
            await put(f, `changed ${round} ${k}\n`, 0o644, 1_650_000_000 + round);
            break;
          case 1:
            await chmod(join(ctxDir, f), 0o700);
            break;
          case 2:
            await rm(join(ctxDir, f), { force: true });
            break;
          default:
            await put(`d${round + 4}/new${k}.txt`, `new ${round} ${k}\n`);
        }
      }
      if (round === 0) await rm(join(ctxDir, "shadow.txt")); // the base's file must show again
      if (round === 1) {
        await unlink(join(ctxDir, "link"));
        await symlink("d1/f1.txt", join(ctxDir, "link"));
        await rm(join(ctxDir, "d3"), { recursive: true }); // a whole directory goes
      }
      if (round === 2) {
        await put("d2/was-file", "x");
        prev = await checkRound(actions, prev);
        await rm(join(ctxDir, "d2/was-file"));
        await put("d2/was-file/now-dir", "y"); // a file becomes a directory
      }
      prev = await checkRound(actions, prev);
    }
    const view = await h.refs.view(prev);
    try {
      expect(await readFile(join(view.path, "ctx/shadow.txt"), "utf8")).toBe("from the base\n");
      expect(await readFile(join(view.path, "ctx/d0/basefile"), "utf8")).toBe("base d0\n");
    } finally {
      await view.release();
    }
  });

  it("handles --chown and --chmod copies, and --no-cache always copies everything", async () => {
    const actions = [copyCtx(".", "/ctx/", { chown: { user: "1000", group: "50" }, chmod: "640" } as Partial<import("../../../src/graph/index.js").CopyAction>)];
    const prev = (await run(actions, false)).ref;
    await put("d0/f0.txt", "chowned change\n", 0o600, 1_700_000_000);
    await put("extra/new.txt", "new\n");
    const next = await checkRound(actions, prev);
    const view = await h.refs.view(next);
    try {
      const st = await lstat(join(view.path, "ctx/extra/new.txt"));
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1000, 50, 0o640]);
    } finally {
      await view.release();
    }
  });

  it("falls back to a full copy for hard links in the context and for large deltas", async () => {
    const actions = [copyCtx(".", "/ctx/")];
    await run(actions, false);
    execFileSync("ln", [join(ctxDir, "d0/f0.txt"), join(ctxDir, "hard")]);
    expect((await run(actions, false)).log).toBe("");
    await rm(join(ctxDir, "hard"));
    await run(actions, false);
    const files = (await readdir(ctxDir, { recursive: true })).map(String).filter((p) => p.endsWith(".txt"));
    for (const f of files) await put(f, `all changed ${f}\n`);
    expect((await run(actions, false)).log).toBe("");
  });
});
