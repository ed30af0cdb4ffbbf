/** Helpers for the snapshot tests: temp dirs, a canonical dump of a directory tree, tar listings. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";

export function tmp(prefix = "tsb-snap-"): string {
  return mkdtempSync(join(process.env.TSBUILD_TEST_TMP ?? tmpdir(), prefix));
}

export function sh(script: string, cwd?: string): string {
  return execFileSync("sh", ["-ec", script], { cwd, encoding: "utf8" });
}

function xattrsOf(path: string): string {
  try {
    return execFileSync("getfattr", ["-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", path], { encoding: "utf8" })
      .split("\n").filter((l) => l && !l.startsWith("#") && !l.includes(".overlay.") && !l.startsWith("system.")).join(",");
  } catch {
    return "";
  }
}

/** One line per entry: path type mode uid:gid [content hash | link target | rdev] [xattrs]. mtimes only for files. */
export function dumpTree(root: string, opts: { mtimes?: boolean } = {}): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel ? join(root, rel) : root).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      let desc: string;
      if (st.isDirectory()) desc = "dir";
      else if (st.isSymbolicLink()) desc = `symlink->${readlinkSync(abs)}`;
      else if (st.isFile()) desc = `file:${createHash("sha256").update(readFileSync(abs)).digest("hex").slice(0, 12)}`;
      else if (st.isFIFO()) desc = "fifo";
      else desc = `dev:${st.rdev}`;
      const t = opts.mtimes && !st.isDirectory() && !st.isSymbolicLink() ? ` t=${Math.floor(st.mtimeMs / 1000)}` : "";
      out.push(`${path} ${desc} ${st.isSymbolicLink() ? "" : mode} ${st.uid}:${st.gid}${t} ${xattrsOf(abs)}`.trim());
      if (st.isDirectory()) walk(path);
    }
  };
  walk("");
  return out;
}

export interface TarItem {
  readonly header: tar.Header;
  readonly body: Buffer;
}

/** Every entry of a (maybe gzipped) tar, with PAX records as tar-stream decodes them. */
export async function readTar(data: Buffer): Promise<TarItem[]> {
  const raw = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  const ex = tar.extract();
  const items: TarItem[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      items.push({ header: entry.header, body: Buffer.concat(chunks) });
    }
  })();
  Readable.from([raw]).pipe(ex);
  await done;
  return items;
}

/** Build a tar in memory from entries (for crafted and hostile layers). */
export async function makeTar(entries: ReadonlyArray<{ header: Partial<tar.Header> & { name: string }; body?: string | Buffer }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((r) => pack.on("end", () => r()));
  for (const e of entries) pack.entry({ mode: 0o644, mtime: new Date(1000), uid: 0, gid: 0, ...e.header }, e.body ?? "");
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** A writable that keeps what it is given: `bytes()` returns it all (a layer blob written to memory). */
export function memorySink(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}
