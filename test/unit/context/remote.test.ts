/**
 * Contexts that are not directories: docker's rules for what the context argument names, URLs printed without
 * credentials, and extraction of (hostile) context archives: tar-slip, writes through symlinks, hard links and
 * symlinks leaving the context, devices, limits, compression by magic bytes.
 */
import { afterAll, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { classifyContext, extractContextArchive, fetchContext, isContextArchive, redactUrl } from "../../../src/context/index.js";

type Entry = Partial<tar.Header> & { name: string; body?: string };

async function tarOf(entries: readonly Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (const { body, ...h } of entries) {
    await new Promise<void>((res, rej) => pack.entry({ ...h, mode: h.mode ?? 0o644 }, body ?? "", (err) => (err ? rej(err) : res())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const base = mkdtempSync(join(tmpdir(), "tsbuild-remote-ctx-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
let dest: string;
beforeEach(() => {
  dest = join(base, `d${n++}`);
  mkdirSync(dest);
});

describe("classifyContext (docker buildx build's rules)", () => {
  const none = (): boolean => false;
  it.each([
    ["-", { kind: "stdin" }],
    ["https://example.com/ctx.tar.gz", { kind: "http", url: "https://example.com/ctx.tar.gz" }],
    ["http://127.0.0.1:8080/Dockerfile", { kind: "http", url: "http://127.0.0.1:8080/Dockerfile" }],
    ["https://github.com/moby/buildkit.git", { kind: "git", remote: "https://github.com/moby/buildkit.git" }],
    ["https://github.com/moby/buildkit.git#v0.12:frontend/dockerfile", { kind: "git", remote: "https://github.com/moby/buildkit.git", ref: "v0.12", subdir: "frontend/dockerfile" }],
    ["git://127.0.0.1:9418/r#main", { kind: "git", remote: "git://127.0.0.1:9418/r", ref: "main" }],
    ["git@github.com:moby/buildkit.git#:docs", { kind: "git", remote: "git@github.com:moby/buildkit.git", subdir: "docs" }],
    ["ssh://git@host/r.git#abc:../../x", { kind: "git", remote: "ssh://git@host/r.git", ref: "abc", subdir: "x" }],
    ["github.com/moby/buildkit", { kind: "git", remote: "https://github.com/moby/buildkit" }],
    ["some/dir", { kind: "dir", dir: "some/dir" }],
    ["file:///tmp/repo.git", { kind: "dir", dir: "file:///tmp/repo.git" }],
  ] as const)("%s", (arg, want) => {
    expect(classifyContext(arg, none)).toEqual(want);
  });
  it("an existing directory wins over the github.com/ shorthand", () => {
    expect(classifyContext("github.com/x/y", () => true)).toEqual({ kind: "dir", dir: "github.com/x/y" });
  });
});

describe("redactUrl", () => {
  it("drops user names, passwords and query values", () => {
    expect(redactUrl("https://user:s3cret@example.com/a/b.tgz?X-Amz-Signature=s3cret&x=1")).toBe("https://example.com/a/b.tgz?X-Amz-Signature=…&x=…");
    expect(redactUrl("git://127.0.0.1:9418/r")).toBe("git://127.0.0.1:9418/r");
    expect(redactUrl("not a url //tok:s3cret@host/x")).not.toMatch(/s3cret/);
  });
});

describe("isContextArchive", () => {
  it("takes compressed streams and tar headers as archives, text as a Dockerfile", async () => {
    const t = await tarOf([{ name: "Dockerfile", body: "FROM scratch\n" }]);
    expect(isContextArchive(t.subarray(0, 512))).toBe(true);
    expect(isContextArchive(gzipSync(t).subarray(0, 8))).toBe(true);
    expect(isContextArchive(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe(true);
    expect(isContextArchive(Buffer.from("FROM busybox\nRUN echo hi\n"))).toBe(false);
    expect(isContextArchive(Buffer.alloc(0))).toBe(false);
  });
});

describe("extractContextArchive", () => {
  it("extracts files, directories, symlinks and hard links with their modes and times", async () => {
    const mtime = new Date("2021-05-06T07:08:09Z");
    const t = await tarOf([
      { name: "./Dockerfile", body: "FROM scratch\n", mtime },
      { name: "bin/", type: "directory", mode: 0o555, mtime },
      { name: "bin/run.sh", body: "#!/bin/sh\n", mode: 0o755 },
      { name: "bin/link", type: "symlink", linkname: "run.sh" },
      { name: "abs", type: "symlink", linkname: "/etc/passwd" },
      { name: "hard", type: "link", linkname: "bin/run.sh" },
      { name: "dev", type: "character-device", devmajor: 1, devminor: 3 },
      { name: "fifo", type: "fifo" },
    ]);
    for (const input of [t, gzipSync(t), execFileSync("xz", ["-c"], { input: t }), execFileSync("bzip2", ["-c"], { input: t }), execFileSync("zstd", ["-c", "-q"], { input: t })]) {
      rmSync(dest, { recursive: true, force: true });
      mkdirSync(dest);
      await extractContextArchive(Readable.from([input]), dest);
      expect(readFileSync(join(dest, "Dockerfile"), "utf8")).toBe("FROM scratch\n");
      expect(statSync(join(dest, "Dockerfile")).mtime.toISOString()).toBe(mtime.toISOString());
      expect(statSync(join(dest, "bin")).mode & 0o777).toBe(0o555);
      expect(statSync(join(dest, "bin", "run.sh")).mode & 0o777).toBe(0o755);
      expect(readlinkSync(join(dest, "bin", "link"))).toBe("run.sh");
      expect(readlinkSync(join(dest, "abs"))).toBe("/etc/passwd");
      expect(statSync(join(dest, "hard")).ino).toBe(statSync(join(dest, "bin", "run.sh")).ino);
      expect(existsSync(join(dest, "dev")) || existsSync(join(dest, "fifo"))).toBe(false);
    }
  });

  it.each([
    ["a name climbing above the context", [{ name: "../../evil", body: "x" }], /outside of the context/],
    ["a write through a symlink", [{ name: "l", type: "symlink", linkname: "/tmp" }, { name: "l/evil", body: "x" }], /not one/],
    ["a relative symlink above the context", [{ name: "a/l", type: "symlink", linkname: "../../x" }], /outside of the context/],
    ["a hard link to a host file", [{ name: "h", type: "link", linkname: "../../../etc/passwd" }], /outside of the context/],
    ["a hard link to a symlink's target", [{ name: "s", type: "symlink", linkname: "/etc/passwd" }, { name: "h", type: "link", linkname: "s" }], /not a file extracted before it/],
  ] as [string, Entry[], RegExp][])("refuses %s (tar-slip), writing nothing outside", async (_what, entries, msg) => {
    const err = await extractContextArchive(Readable.from([await tarOf(entries)]), dest).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TSB_CONTEXT_ARCHIVE_ESCAPE" });
    expect((err as Error).message).toMatch(msg);
    expect(existsSync(join(dest, "..", "evil")) || existsSync("/tmp/evil")).toBe(false);
  });

  it("bounds entry count and total size, and names a corrupt archive", async () => {
    const many = await tarOf([{ name: "a", body: "1" }, { name: "b", body: "2" }, { name: "c", body: "3" }]);
    await expect(extractContextArchive(Readable.from([many]), dest, { maxEntries: 2 })).rejects.toMatchObject({ code: "TSB_CONTEXT_ARCHIVE", message: expect.stringMatching(/more than 2 entries/) });
    const big = await tarOf([{ name: "big", body: "x".repeat(4096) }]);
    await expect(extractContextArchive(Readable.from([big]), join(base, `d${n++}`), { maxTotalBytes: 1000 })).rejects.toMatchObject({ message: expect.stringMatching(/more than 1000 bytes/) });
    await expect(extractContextArchive(Readable.from([gzipSync(many).subarray(0, 40)]), join(base, `d${n++}`))).rejects.toMatchObject({ code: "TSB_CONTEXT_ARCHIVE" });
  });
});

describe("fetchContext from standard input", () => {
  it("finds the Dockerfile at the root or at -f inside the archive, and refuses one that leaves it", async () => {
    const t = await tarOf([{ name: "Dockerfile", body: "FROM a\n" }, { name: "sub/Alt", body: "FROM b\n" }, { name: "out", type: "symlink", linkname: "/etc/hostname" }]);
    const root = await fetchContext({ kind: "stdin" }, { scratchDir: dest, stdin: Readable.from([t]) });
    expect(readFileSync(root.dockerfile!, "utf8")).toBe("FROM a\n");
    expect(lstatSync(root.contextDir).isDirectory()).toBe(true);
    const alt = await fetchContext({ kind: "stdin" }, { scratchDir: join(base, `d${n++}`), stdin: Readable.from([t]), dockerfile: "sub/Alt" });
    expect(readFileSync(alt.dockerfile!, "utf8")).toBe("FROM b\n");
    await expect(fetchContext({ kind: "stdin" }, { scratchDir: join(base, `d${n++}`), stdin: Readable.from([t]), dockerfile: "out" })).rejects.toMatchObject({ code: "TSB_CONTEXT_NO_DOCKERFILE" });
    await expect(fetchContext({ kind: "stdin" }, { scratchDir: join(base, `d${n++}`), stdin: Readable.from([t]), dockerfile: "nope" })).rejects.toMatchObject({ code: "TSB_CONTEXT_NO_DOCKERFILE" });
  });
});
