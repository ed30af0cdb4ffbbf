// Small synthesized images for the conformance tools' tests: layers built with tar-stream, packed as a classic
// docker-archive, an OCI archive (gzip layers) or an OCI layout dir.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import tarStream from "tar-stream";

export interface Member {
  readonly name: string;
  readonly type?: "file" | "directory" | "symlink" | "link";
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: number;
  readonly linkname?: string;
  readonly body?: string;
}

/** A tar of the members, in order. */
export async function tar(members: readonly Member[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((res, rej) => {
    pack.on("end", () => res());
    pack.on("error", rej);
  });
  for (const m of members) {
    const type = m.type ?? "file";
    const header = {
      name: m.name, type, mode: m.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
      uid: m.uid ?? 0, gid: m.gid ?? 0, mtime: new Date((m.mtime ?? 0) * 1000),
      ...(m.linkname !== undefined ? { linkname: m.linkname } : {}),
    };
    await new Promise<void>((res, rej) => {
      if (type === "file") pack.entry(header, Buffer.from(m.body ?? ""), (e) => (e ? rej(e) : res()));
      else pack.entry(header, (e) => (e ? rej(e) : res()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** An image config with the given config fields and history. */
export function config(layers: readonly Buffer[], cfg: Record<string, unknown>, history: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { architecture: "amd64", os: "linux", config: cfg, rootfs: { type: "layers", diff_ids: layers.map((l) => `sha256:${sha(l)}`) }, history };
}

/** A classic `docker save` archive (Config + <id>/layer.tar). */
export async function dockerArchive(cfg: Record<string, unknown>, layers: readonly Buffer[]): Promise<Buffer> {
  const cfgBuf = Buffer.from(JSON.stringify(cfg));
  const id = sha(cfgBuf);
  const members: Member[] = [{ name: `${id}.json`, body: cfgBuf.toString() }];
  const paths: string[] = [];
  layers.forEach((l, i) => {
    const dir = sha(Buffer.from(`${i}${sha(l)}`));
    paths.push(`${dir}/layer.tar`);
    members.push({ name: `${dir}/`, type: "directory" }, { name: `${dir}/layer.tar`, body: l.toString("latin1") });
  });
  members.push({ name: "manifest.json", body: JSON.stringify([{ Config: `${id}.json`, RepoTags: ["t:latest"], Layers: paths }]) });
  // bodies are binary tars: pass them through latin1 so tar-stream writes the same bytes back
  return tarBinary(members);
}

async function tarBinary(members: readonly Member[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((res) => pack.on("end", () => res()));
  for (const m of members) {
    await new Promise<void>((res, rej) => {
      if ((m.type ?? "file") === "file") pack.entry({ name: m.name, mode: 0o644 }, Buffer.from(m.body ?? "", "latin1"), (e) => (e ? rej(e) : res()));
      else pack.entry({ name: m.name, type: "directory", mode: 0o755 }, (e) => (e ? rej(e) : res()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The blobs and index of an OCI layout with gzip layers: `{path: bytes}`. */
export function ociFiles(cfg: Record<string, unknown>, layers: readonly Buffer[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const blob = (b: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } => {
    const d = sha(b);
    files.set(`blobs/sha256/${d}`, b);
    return { mediaType, digest: `sha256:${d}`, size: b.length };
  };
  const cfgDesc = blob(Buffer.from(JSON.stringify(cfg)), "application/vnd.oci.image.config.v1+json");
  const layerDescs = layers.map((l) => blob(gzipSync(l), "application/vnd.oci.image.layer.v1.tar+gzip"));
  const man = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: cfgDesc, layers: layerDescs })), "application/vnd.oci.image.manifest.v1+json");
  files.set("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  files.set("index.json", Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [man] })));
  return files;
}

/** An OCI archive tar. */
export function ociArchive(cfg: Record<string, unknown>, layers: readonly Buffer[]): Promise<Buffer> {
  return tarBinary([...ociFiles(cfg, layers)].map(([name, b]) => ({ name, body: b.toString("latin1") })));
}

/** An OCI layout directory under `dir`. */
export function ociDir(dir: string, cfg: Record<string, unknown>, layers: readonly Buffer[]): string {
  for (const [name, b] of ociFiles(cfg, layers)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), b);
  }
  return dir;
}
