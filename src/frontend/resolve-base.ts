/**
 * Base images: resolve through the injected ImageMetaResolver and turn image configs into working copies and back.
 */
import { TsbuildError, withLocation } from "../errors.js";
import { createVertex, type GraphPlatform } from "../graph/index.js";
import { parseReference } from "../image/index.js";
import type { ContainerConfig, ImageConfig } from "../image/index.js";
import type { Digest } from "../util/digest.js";
import { FrontendError } from "./errors.js";
import { prefixCommand } from "./dispatch-common.js";
import { cloneData, emptyImage, type DispatchState, type WorkingImage } from "./stage-state.js";
import type { ImageMetaResolver } from "./types.js";

export function fromImageConfig(img: ImageConfig): WorkingImage {
  const c: ContainerConfig = img.config ?? {};
  const w: WorkingImage = {
    os: img.os,
    architecture: img.architecture,
    env: [...(c.Env ?? [])],
    diffIds: [...img.rootfs.diff_ids],
    history: (img.history ?? []).map((h) => ({ ...h })),
  };
  if (img.variant) w.variant = img.variant;
  if (img["os.version"]) w.osVersion = img["os.version"];
  if (img.author) w.author = img.author;
  if (c.User) w.user = c.User;
  if (c.ExposedPorts) w.exposedPorts = cloneData(c.ExposedPorts) as WorkingImage["exposedPorts"];
  if (c.Entrypoint !== undefined) w.entrypoint = c.Entrypoint === null ? null : [...c.Entrypoint];
  if (c.Cmd !== undefined) w.cmd = c.Cmd === null ? null : [...c.Cmd];
  if (c.Volumes) w.volumes = cloneData(c.Volumes) as WorkingImage["volumes"];
  if (c.WorkingDir) w.workingDir = c.WorkingDir;
  if (c.Labels) w.labels = { ...c.Labels };
  if (c.StopSignal) w.stopSignal = c.StopSignal;
  if (c.ArgsEscaped) w.argsEscaped = c.ArgsEscaped;
  if (c.Healthcheck) w.healthcheck = cloneData(c.Healthcheck);
  if (c.OnBuild) w.onBuild = [...c.OnBuild];
  if (c.Shell) w.shell = [...c.Shell];
  return w;
}

/** The final, frozen image config (fields in Docker's order; empty ones left out). */
export function toImageConfig(w: WorkingImage): ImageConfig {
  const config: Record<string, unknown> = {};
  if (w.user) config.User = w.user;
  if (w.exposedPorts && Object.keys(w.exposedPorts).length > 0) config.ExposedPorts = w.exposedPorts;
  config.Env = w.env;
  // Docker's strslice fields are omitempty: `CMD []` and `ENTRYPOINT []` leave the field out.
  if (w.entrypoint && w.entrypoint.length > 0) config.Entrypoint = w.entrypoint;
  if (w.cmd && w.cmd.length > 0) config.Cmd = w.cmd;
  if (w.volumes && Object.keys(w.volumes).length > 0) config.Volumes = w.volumes;
  if (w.workingDir) config.WorkingDir = w.workingDir;
  if (w.labels && Object.keys(w.labels).length > 0) config.Labels = w.labels;
  if (w.stopSignal) config.StopSignal = w.stopSignal;
  if (w.argsEscaped) config.ArgsEscaped = true;
  if (w.healthcheck) config.Healthcheck = w.healthcheck;
  if (w.onBuild && w.onBuild.length > 0) config.OnBuild = w.onBuild;
  if (w.shell && w.shell.length > 0) config.Shell = w.shell;
  const img: ImageConfig = {
    ...(w.author ? { author: w.author } : {}),
    architecture: w.architecture,
    os: w.os,
    ...(w.osVersion ? { "os.version": w.osVersion } : {}),
    ...(w.variant ? { variant: w.variant } : {}),
    config: config as ContainerConfig,
    rootfs: { type: "layers", diff_ids: w.diffIds as Digest[] },
    history: w.history,
  };
  return cloneData(img);
}

/** Resolve the base of a stage that does not start from another stage: scratch, or an image through the resolver. */
export async function resolveBase(d: DispatchState, resolver: ImageMetaResolver, target: GraphPlatform, filename: string, text: string | undefined): Promise<void> {
  const loc = { filename, ranges: d.stage.source, ...(text !== undefined ? { text } : {}) };
  try {
    if (d.baseName === "scratch") {
      d.root = null;
      d.platform ??= target;
      d.image = emptyImage(d.platform);
      d.isScratch = true;
      if (d.unregistered) d.dispatched = true;
      return;
    }
    let ref;
    try {
      ref = parseReference(d.baseName);
    } catch (err) {
      throw new FrontendError("TSB_FRONTEND_BAD_BASE", `failed to parse stage name ${JSON.stringify(d.baseName)}: ${(err as Error).message}`, {
        cause: err,
        hint: "FROM takes an image reference (lowercase repository, optional :tag or @digest) or the name of an earlier stage",
      });
    }
    const platform = d.platform ?? target;
    const resolved = await resolver.resolve(ref.full, platform);
    const img = fromImageConfig(resolved.config);
    d.baseName = resolved.ref;
    d.image = img;
    d.platform = platform;
    const scratchLike = img.diffIds.length === 0 && img.history.every((h) => h.empty_layer === true);
    d.isScratch = scratchLike;
    d.root = scratchLike
      ? null
      : {
          vertex: createVertex({ kind: "source", source: { type: "image", ref: resolved.ref, platform } }, [], {
            name: prefixCommand(d, `FROM ${resolved.ref}`),
            source: d.stage.source,
            filename,
            description: { "com.docker.dockerfile.v1.command": d.stage.original },
          }),
          output: 0,
        };
    if (d.unregistered) d.dispatched = true;
  } catch (err) {
    if (err instanceof TsbuildError) throw withLocation(err, loc);
    throw new FrontendError("TSB_FRONTEND_RESOLVE", `failed to resolve base image ${d.baseName}: ${(err as Error).message}`, { cause: err, location: loc, hint: "check the image name and that the registry is reachable" });
  }
}
