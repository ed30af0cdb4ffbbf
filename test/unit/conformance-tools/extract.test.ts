import { describe, it, expect } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { archiveExpectation, listLayer, mergeLayers, readImage, type ConformanceEntry } from "../../../scripts/conformance/lib.mjs";
import { requireTool } from "../../helpers/base-images.js";
import { config, dockerArchive, ociArchive, ociDir, tar } from "./archives.js";

const base = () =>
  tar([
    { name: "./", type: "directory" },
    { name: "./bin/", type: "directory" },
    { name: "./bin/sh", type: "symlink", linkname: "/bin/busybox" },
    { name: "./etc/", type: "directory" },
    { name: "./etc/passwd", body: "root:x:0:0::/:/bin/sh\n" },
    { name: "./data/", type: "directory" },
    { name: "./data/old", body: "old" },
    { name: "./data/sub/", type: "directory" },
    { name: "./data/sub/gone", body: "gone" },
  ]);
const upper = () =>
  tar([
    { name: "etc/", type: "directory", mtime: 1700000000 },
    { name: "etc/new", body: "new\n", mode: 0o600, uid: 1000, gid: 50, mtime: 1600000000 },
    { name: "etc/hard", type: "link", linkname: "etc/new" },
    { name: "data/", type: "directory", mtime: 1700000000 },
    { name: "data/.wh.old", body: "" },
    { name: "data/sub/", type: "directory", mode: 0o2750, mtime: 1500000000 },
    { name: "data/sub/.wh..wh..opq", body: "" },
    { name: "data/sub/fresh", body: "fresh" },
  ]);

const byPath = (list: readonly ConformanceEntry[]) => Object.fromEntries(list.map((e) => [`${e.path}${e.type === "opaque" || e.type === "whiteout" ? `#${e.type}` : ""}`, e]));

describe("listLayer", () => {
  it("normalizes paths, modes, owners, content digests, links and mtime classes", async () => {
    const e = byPath(await listLayer(await upper()));
    expect(e["/etc/new"]).toEqual({
      path: "/etc/new", type: "file", mode: "0600", uid: 1000, gid: 50, size: 4,
      sha256: "7aa7a5359173d05b63cfd682e3c38487f3cb4f7f1d60659fe59fab1505977d4c", mtime: 1600000000,
    });
    expect(e["/etc"]).toMatchObject({ type: "dir", mode: "0755", mtime: "build" });
    expect(e["/etc/hard"]).toMatchObject({ type: "hardlink", link: "/etc/new" });
    expect(e["/data/sub"]).toMatchObject({ type: "dir", mode: "2750", mtime: 1500000000 });
  });

  it("turns whiteout files into markers of the hidden path and the opaque marker into one of its directory", async () => {
    const e = byPath(await listLayer(await upper()));
    expect(e["/data/old#whiteout"]).toEqual({ path: "/data/old", type: "whiteout" });
    expect(e["/data/sub#opaque"]).toEqual({ path: "/data/sub", type: "opaque" });
    expect(e["/data/.wh.old"]).toBeUndefined();
  });

  it("keeps the root entry as / and symlink targets verbatim", async () => {
    const e = byPath(await listLayer(await base()));
    expect(e["/"]).toMatchObject({ type: "dir" });
    expect(e["/bin/sh"]).toMatchObject({ type: "symlink", link: "/bin/busybox", mode: "0777" });
  });
});

describe("mergeLayers", () => {
  it("applies whiteouts and opaque directories to the lower layers only", async () => {
    const fs = mergeLayers([await listLayer(await base()), await listLayer(await upper())]);
    expect(fs.has("/data/old")).toBe(false);
    expect(fs.has("/data/sub/gone")).toBe(false);
    expect(fs.get("/data/sub/fresh")).toMatchObject({ type: "file", size: 5 });
    expect(fs.get("/data/sub")).toMatchObject({ mode: "2750" });
    expect(fs.get("/etc/passwd")).toMatchObject({ type: "file" });
  });

  it("drops a directory's children when a later layer replaces it with a file", () => {
    const fs = mergeLayers([
      [{ path: "/d", type: "dir" }, { path: "/d/x", type: "file" }],
      [{ path: "/d", type: "file" }],
    ]);
    expect([...fs.keys()]).toEqual(["/d"]);
  });
});

describe("readImage and archiveExpectation", () => {
  const history = [{ comment: "base" }, { created_by: "RUN /bin/sh -c x # buildkit", comment: "buildkit.dockerfile.v0" }, { created_by: "ENV A=1", empty_layer: true }];

  it("give the same expectation for a docker archive, an OCI archive (gzip layers) and an OCI dir", async () => {
    const layers = [await base(), await upper()];
    const cfg = config(layers, { Env: ["A=1"], Cmd: null, User: "app" }, history);
    const dir = mkdtempSync(join(tmpdir(), "tsb-conf-test-"));
    try {
      writeFileSync(join(dir, "docker.tar"), await dockerArchive(cfg, layers));
      writeFileSync(join(dir, "oci.tar"), await ociArchive(cfg, layers));
      const fromDocker = await archiveExpectation(join(dir, "docker.tar"));
      expect(await archiveExpectation(join(dir, "oci.tar"))).toEqual(fromDocker);
      expect(await archiveExpectation(ociDir(join(dir, "layout"), cfg, layers))).toEqual(fromDocker);
      expect(fromDocker.image).toEqual({ architecture: "amd64", os: "linux", config: { User: "app", Env: ["A=1"] } });
      expect(fromDocker.history).toEqual([
        { created_by: "RUN /bin/sh -c x # buildkit", comment: "buildkit.dockerfile.v0", empty_layer: false },
        { created_by: "ENV A=1", empty_layer: true },
      ]);
      expect(fromDocker.layers).toHaveLength(1);
      expect(fromDocker.merged.removed).toEqual(["/data/old", "/data/sub/gone"]);
      expect(fromDocker.merged.changed.map((e) => e.path)).toEqual(["/data", "/data/sub", "/data/sub/fresh", "/etc", "/etc/hard", "/etc/new"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads zstd-compressed layers", async () => {
    requireTool("zstd", "zstd");
    const layers = [await base(), await upper()];
    const dir = mkdtempSync(join(tmpdir(), "tsb-conf-test-"));
    try {
      const zst = execFileSync("zstd", ["-q", "-c"], { input: layers[1] });
      const img = await readImage(await writeDocker(dir, config(layers, {}, history), [layers[0]!, zst]));
      expect(img.layers[1]!.equals(layers[1]!)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails on a file that is no saved image", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-conf-test-"));
    try {
      writeFileSync(join(dir, "x.tar"), await tar([{ name: "hello", body: "x" }]));
      await expect(readImage(join(dir, "x.tar"))).rejects.toThrow(/neither a docker archive/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function writeDocker(dir: string, cfg: Record<string, unknown>, layers: Buffer[]): Promise<string> {
  const p = join(dir, "img.tar");
  writeFileSync(p, await dockerArchive(cfg, layers));
  return p;
}
