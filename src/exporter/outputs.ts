/**
 * Running the `-o` outputs of a build: commit the image once per distinct set of image options, then write each
 * output (OCI layout tar/dir, docker archive, local dir, filesystem tar, local image db, registry push). Files are
 * written next to their destination and renamed into place, so a failed export leaves no half-written archive.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { BuildRef, RefManager } from "../cache/index.js";
import { UsageError, assertNever, isTsbuildError } from "../errors.js";
import {
  normalizeImageName, parseReference, writeDockerArchive, writeOciArchive, writeOciLayoutDir,
  type Descriptor, type ExportImage, type HistoryEntry, type ImageConfig, type ImageStore,
} from "../image/index.js";
import type { Registry } from "../registry/index.js";
import { tempName, type ContentStore } from "../store/index.js";
import { isBrokenPipe } from "../util/broken-pipe.js";
import type { Digest } from "../util/digest.js";
import { ExportError } from "./errors.js";
import { ExportVertex, type ExportProgressOptions } from "./export-progress.js";
import { goTime } from "./go-json.js";
import { copyTree, writeTreeTar } from "./local.js";
import type { ImageOutputOptions, OutputSpec } from "./output-spec.js";
import { commitImage, type CommittedImage } from "./writer.js";

/** Everything the outputs need; wired by the composition root. */
export interface ExportOutputsOptions extends Pick<ExportProgressOptions, "progress"> {
  readonly outputs: readonly OutputSpec[];
  readonly ref: BuildRef;
  /** The frontend's image config of the target stage. */
  readonly image: ImageConfig;
  readonly baseLayerCount?: number | undefined;
  readonly baseHistory?: readonly HistoryEntry[] | undefined;
  /** `-t` names: the names of image outputs that give no `name=`. */
  readonly tags?: readonly string[] | undefined;
  /** `--label`s added by the exporter (labels from the Dockerfile are already in `image`). */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly refs: RefManager;
  readonly store: ContentStore;
  readonly images: ImageStore;
  /** Opened only when an output pushes; the caller closes it. */
  readonly registry?: (() => Registry | Promise<Registry>) | undefined;
  /** Where `dest=-` writes (the CLI passes process.stdout). */
  readonly stdout?: Writable | undefined;
  readonly sourceDateEpoch?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly now?: Date | undefined;
}

/** What one output did. */
export interface OutputResult {
  readonly type: OutputSpec["type"];
  readonly dest?: string | undefined;
  /** Normalized names given to the image (stored, pushed or recorded in the archive). */
  readonly names: readonly string[];
  /** The image written, for image outputs. */
  readonly image?: CommittedImage | undefined;
  /** Registry pushes: name and pushed manifest digest. */
  readonly pushed: readonly { readonly name: string; readonly digest: Digest }[];
}

/** What {@link exportOutputs} did: per output, plus the image of the last image output (for iidfile/metadata). */
export interface ExportResult {
  readonly outputs: readonly OutputResult[];
  readonly image?: CommittedImage | undefined;
  readonly names: readonly string[];
}

const VERTEX_NAMES: Readonly<Record<OutputSpec["type"], string>> = {
  local: "exporting to client directory",
  tar: "exporting to client tarball",
  oci: "exporting to oci image format",
  docker: "exporting to docker image format",
  image: "exporting to image",
};

/** Write to `dest` (a file, created next to it and renamed into place) or to `stdout` for `-`. */
async function toFile(dest: string, stdout: Writable | undefined, write: (out: Writable) => Promise<void>): Promise<void> {
  if (dest === "-") {
    if (!stdout) throw new UsageError("an output writes to standard output, but none is available", { hint: "give dest=FILE" });
    try {
      await write(stdout);
    } catch (err) {
      const epipe = isBrokenPipe(err);
      if (isTsbuildError(err) && !epipe) throw err;
      throw new ExportError("TSB_EXPORT_WRITE", epipe ? "standard output was closed before the output was written (EPIPE)" : `writing to standard output failed: ${(err as Error).message}`, {
        cause: err,
        hint: epipe ? "the program reading tsbuild's output exited early; let it read everything, or write to a file with dest=FILE" : "write to a file with dest=FILE",
      });
    }
    return;
  }
  const tmp = join(dirname(dest), `.${basename(dest)}.${tempName(".tmp")}`);
  let out: Writable | undefined;
  try {
    await mkdir(dirname(dest), { recursive: true });
    const file = createWriteStream(tmp, { flags: "wx", mode: 0o644 });
    out = file;
    await write(file);
    if (!file.writableFinished) await finished(file);
    await rename(tmp, dest);
  } catch (err) {
    out?.destroy();
    await rm(tmp, { force: true }).catch(() => undefined);
    if (isTsbuildError(err)) throw err;
    throw new ExportError("TSB_EXPORT_WRITE", `writing ${dest} failed: ${(err as Error).message}`, {
      cause: err,
      hint: "check that the destination is a writable file path with free space",
    });
  }
}

function flavorOf(spec: OutputSpec & { image: ImageOutputOptions }): "oci" | "docker" {
  return spec.image.ociMediaTypes === false ? "docker" : "oci";
}

/** Run every output. Image outputs with identical image options share one commit. */
export async function exportOutputs(opts: ExportOutputsOptions): Promise<ExportResult> {
  const commits = new Map<string, Promise<CommittedImage>>();
  const results: OutputResult[] = [];
  let lastImage: CommittedImage | undefined;
  let lastNames: string[] = [];

  const commit = (spec: OutputSpec & { image: ImageOutputOptions }, vertex: ExportVertex, createdAnnotation: boolean): Promise<CommittedImage> => {
    const io = spec.image;
    const key = JSON.stringify([io, createdAnnotation]);
    let p = commits.get(key);
    if (!p) {
      const now = opts.now ?? new Date();
      const created = goTime(opts.sourceDateEpoch !== undefined ? new Date(opts.sourceDateEpoch * 1000) : now).replace(/\.\d+Z$/, "Z");
      p = commitImage({
        ref: opts.ref, image: opts.image, baseLayerCount: opts.baseLayerCount, baseHistory: opts.baseHistory,
        refs: opts.refs, store: opts.store, compression: io.compression, level: io.level, force: io.force,
        sourceDateEpoch: opts.sourceDateEpoch, rewriteTimestamp: io.rewriteTimestamp, mediaTypes: flavorOf(spec),
        annotations: io.manifestAnnotations,
        descriptorAnnotations: {
          ...(createdAnnotation ? { "org.opencontainers.image.created": created } : {}),
          ...io.descriptorAnnotations,
        },
        labels: opts.labels, signal: opts.signal, progress: opts.progress, vertex: vertex.digest, now,
      });
      commits.set(key, p);
    }
    return p;
  };

  for (const spec of opts.outputs) {
    opts.signal?.throwIfAborted();
    const vertex = new ExportVertex({ progress: opts.progress }, VERTEX_NAMES[spec.type]);
    const result = await vertex.run(async (): Promise<OutputResult> => {
      switch (spec.type) {
        case "local": {
          const view = await opts.refs.view(opts.ref, opts.signal);
          try {
            vertex.step("copying files", 0);
            await copyTree(view.path, spec.dest, {
              sourceDateEpoch: opts.sourceDateEpoch, signal: opts.signal,
              onSkip: (path, why) => opts.progress?.({ type: "warning", message: `local output: skipped /${path} (${why})`, time: Date.now() }),
            });
            vertex.step("copying files", 1, 1);
          } finally {
            await view.release();
          }
          return { type: "local", dest: spec.dest, names: [], pushed: [] };
        }
        case "tar": {
          const view = await opts.refs.view(opts.ref, opts.signal);
          let failed = false;
          try {
            vertex.step("sending tarball", 0);
            await toFile(spec.dest, opts.stdout, (out) => writeTreeTar(view.path, out, { sourceDateEpoch: opts.sourceDateEpoch, signal: opts.signal }));
            vertex.step("sending tarball", 1, 1);
          } catch (err) {
            failed = true;
            throw err;
          } finally {
            // After a failure the write's own error is the one to report (a view left mounted dies with the session).
            await view.release().catch((err: unknown) => {
              if (!failed) throw err;
            });
          }
          return { type: "tar", dest: spec.dest, names: [], pushed: [] };
        }
        case "oci":
        case "docker": {
          const names = (spec.names.length > 0 ? spec.names : (opts.tags ?? [])).map(normalizeImageName);
          const img = await commit(spec, vertex, true);
          if (spec.type === "docker" && spec.dest === undefined) {
            await storeNames(opts.images, names, img.manifest, vertex);
            return { type: spec.type, names, image: img, pushed: [] };
          }
          const list: ExportImage[] = [{ target: img.manifest, names }];
          const dest = spec.dest!;
          vertex.step("sending tarball", 0);
          if (!spec.tar) await writeLayoutDir(opts.store, list, dest);
          else if (spec.type === "oci") await toFile(dest, opts.stdout, (out) => writeOciArchive(opts.store, list, out));
          else await toFile(dest, opts.stdout, (out) => writeDockerArchive(opts.store, list, out));
          vertex.step("sending tarball", 1, 1);
          return { type: spec.type, dest, names, image: img, pushed: [] };
        }
        case "image": {
          const names = (spec.names.length > 0 ? spec.names : (opts.tags ?? [])).map(normalizeImageName);
          if (spec.push && names.length === 0) {
            throw new UsageError("pushing needs an image name", { hint: "give -t NAME, or name=NAME in the -o spec" });
          }
          const img = await commit(spec, vertex, false);
          if (spec.store) await storeNames(opts.images, names, img.manifest, vertex);
          const pushed: { name: string; digest: Digest }[] = [];
          if (spec.push) {
            if (!opts.registry) throw new UsageError("pushing is not available here", { hint: "push with 'tsbuild push' after the build" });
            const registry = await opts.registry();
            for (const name of names) {
              vertex.step(`pushing ${name}`, 0);
              const r = await registry.push(opts.store, img.manifest, parseReference(name), { signal: opts.signal });
              pushed.push({ name, digest: r.digest });
              vertex.step(`pushing ${name}`, 1, 1);
            }
          }
          return { type: "image", names, image: img, pushed };
        }
        default:
          return assertNever(spec, "output type");
      }
    });
    results.push(result);
    if (result.image) {
      lastImage = result.image;
      lastNames = [...result.names];
    }
  }
  return { outputs: results, image: lastImage, names: lastNames };
}

async function storeNames(images: ImageStore, names: readonly string[], manifest: Descriptor, vertex: ExportVertex): Promise<void> {
  for (const name of names) {
    vertex.step(`naming to ${name}`, 0);
    await images.putImage(name, { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size });
    vertex.step(`naming to ${name}`, 1, 1);
  }
}

async function writeLayoutDir(store: ContentStore, list: readonly ExportImage[], dest: string): Promise<void> {
  try {
    await writeOciLayoutDir(store, list, dest);
  } catch (err) {
    if (isTsbuildError(err)) throw err;
    throw new ExportError("TSB_EXPORT_WRITE", `writing the OCI layout ${dest} failed: ${(err as Error).message}`, {
      cause: err,
      hint: "check that the destination is a writable directory with free space",
    });
  }
}
