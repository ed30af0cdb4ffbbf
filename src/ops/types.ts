/**
 * What ops produce and what they need. Every vertex of the build graph yields an OpResult; the solver caches
 * only snapshot-backed results (`fs`). Dependencies are injected as one OpDeps object built by src/build.ts.
 */
import type { BuildRef, RefManager } from "../cache/index.js";
import type { BuildContext } from "../context/index.js";
import type { Sandbox } from "../executor/index.js";
import type { ImageConfig } from "../image/index.js";
import type { ImageStore } from "../image/index.js";
import type { Registry } from "../registry/index.js";
import type { ContentStore, RootLayout } from "../store/index.js";
import type { Snapshotter } from "../snapshot/index.js";
import type { IdMap } from "../executor/index.js";

/** The result of one vertex. */
export type OpResult =
  /** A filesystem as a layer chain (images, RUN, COPY, merge). `image` is set for image sources. */
  | { readonly kind: "fs"; readonly ref: BuildRef; readonly image?: { readonly ref: string; readonly config: ImageConfig } }
  /** A directory read straight from disk (the build context or a named local context). Never cached. */
  | { readonly kind: "local"; readonly context: BuildContext }
  /** A downloaded file (ADD https://…), kept under the root's tmp dir for the build. */
  | { readonly kind: "http"; readonly path: string; readonly filename: string; readonly digest: string };

/** A secret given with `--secret id=…,src=…|env=…`: only the build process ever holds its value. */
export interface SecretSource {
  readonly id: string;
  /** Read the value (from a file or an environment variable); never logged. */
  read(): Promise<Buffer>;
}

/**
 * An ssh agent forwarded with `--ssh ID[=SOCKET]`: RUN --mount=type=ssh,id=ID reaches it through a private proxy
 * socket. The socket path is the user's: it never goes into a cache key, a log or the build output.
 */
export interface SshSource {
  readonly id: string;
  /** Absolute path of the agent's unix socket. */
  readonly socket: string;
}

/** How a base image is looked up: local image db first (unless pull), then the registry. */
export interface ImageResolveOptions {
  /** Always ask the registry for the newest digest (`--pull`). */
  readonly pull: boolean;
}

/** Everything ops need, wired by src/build.ts (the composition root). */
export interface OpDeps {
  readonly layout: RootLayout;
  readonly store: ContentStore;
  readonly images: ImageStore;
  readonly registry: Registry;
  readonly snapshotter: Snapshotter;
  readonly refs: RefManager;
  readonly sandbox: Sandbox;
  /** The session's id maps (container ↔ host ids), for chown in file ops. */
  readonly uidMap: IdMap;
  readonly gidMap: IdMap;
  /** Named local contexts (`context` is the main one). Opened lazily by build.ts. */
  readonly contexts: ReadonlyMap<string, () => Promise<BuildContext>>;
  readonly secrets: ReadonlyMap<string, SecretSource>;
  /** Forwarded ssh agents by id (`--ssh`); none when absent. */
  readonly ssh?: ReadonlyMap<string, SshSource>;
  readonly imageResolve: ImageResolveOptions;
  /** SOURCE_DATE_EPOCH, when set: clamps timestamps of files the build creates. */
  readonly sourceDateEpoch?: number;
  /** Directory for persistent cache mounts (`RUN --mount=type=cache`). */
  readonly cacheMountsDir: string;
}
