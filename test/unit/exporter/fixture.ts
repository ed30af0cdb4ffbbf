/**
 * A temp tsbuild root with a busybox base image and refs built on it by hand (RefManager.prepare/commit), for the
 * exporter's sandbox tests. Call as session root.
 */
import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { chmod, chown, lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RefManager, type BuildRef } from "../../../src/cache/index.js";
import { importRootfs, openImageStore, resolveImage, type HistoryEntry, type ImageConfig, type ImageStore } from "../../../src/image/index.js";
import { createSnapshotter, type Snapshotter } from "../../../src/snapshot/index.js";
import { rootLayout, type ContentStore } from "../../../src/store/index.js";
import { busyboxRootfsTar } from "../../helpers/base-images.js";

export interface ExportFixture {
  readonly dir: string;
  readonly store: ContentStore;
  readonly images: ImageStore;
  readonly snap: Snapshotter;
  readonly refs: RefManager;
  readonly base: BuildRef;
  readonly baseConfig: ImageConfig;
  close(): Promise<void>;
}

const T = new Date("2024-05-01T12:00:00Z");

export async function openFixture(): Promise<ExportFixture> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-export-"));
  const images = await openImageStore(join(dir, "root"));
  const store = images.store;
  const snap = await createSnapshotter(rootLayout(join(dir, "root")).snapshots);
  const refs = new RefManager({ snapshotter: snap, store, layout: store.layout });
  const imported = await importRootfs(store, createReadStream(await busyboxRootfsTar()), { created: new Date("2023-01-01T00:00:00Z") });
  const r = await resolveImage(store, imported.manifest);
  const base = refs.fromImage([{ diffId: imported.diffId, blob: { ...imported.layer } }]);
  return {
    dir, store, images, snap, refs, base, baseConfig: r.config,
    async close() {
      await snap.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Three built layers on the base: (1) /app with owned files, modes, a symlink; (2) no changes; (3) /app/data/x.
 * Every time is fixed, so two builds give the same layer bytes.
 */
export async function buildApp(fx: ExportFixture): Promise<BuildRef> {
  const w1 = await fx.refs.prepare(fx.base);
  const app = join(w1.path, "app");
  await mkdir(join(app, "data"), { recursive: true });
  await writeFile(join(app, "hello.sh"), "#!/bin/sh\necho hello from tsbuild\n");
  await chmod(join(app, "hello.sh"), 0o750);
  await writeFile(join(app, "secret"), "s\n");
  await chmod(join(app, "secret"), 0o600);
  await chown(join(app, "secret"), 1000, 50);
  await chown(join(app, "data"), 1000, 1000);
  await symlink("hello.sh", join(app, "run"));
  for (const p of ["hello.sh", "secret", "data", ""]) await utimes(join(app, p), T, T);
  await lutimes(join(app, "run"), T, T);
  await utimes(w1.path, T, T);
  const r1 = await w1.commit();
  const w2 = await fx.refs.prepare(r1);
  const r2 = await w2.commit();
  const w3 = await fx.refs.prepare(r2);
  await writeFile(join(w3.path, "app", "data", "x"), "x\n");
  await utimes(join(w3.path, "app", "data", "x"), T, T);
  await utimes(join(w3.path, "app", "data"), T, T);
  return w3.commit();
}

/** The frontend's view of the image built by buildApp. */
export function appImage(fx: ExportFixture): ImageConfig {
  const history: HistoryEntry[] = [
    ...(fx.baseConfig.history ?? []),
    { created_by: "WORKDIR /app", comment: "buildkit.dockerfile.v0", empty_layer: true },
    { created_by: "COPY . /app # buildkit", comment: "buildkit.dockerfile.v0" },
    { created_by: "RUN /bin/sh -c true # buildkit", comment: "buildkit.dockerfile.v0" },
    { created_by: "RUN /bin/sh -c echo x > data/x # buildkit", comment: "buildkit.dockerfile.v0" },
    { created_by: 'CMD ["/app/hello.sh"]', comment: "buildkit.dockerfile.v0", empty_layer: true },
  ];
  return {
    architecture: fx.baseConfig.architecture,
    os: fx.baseConfig.os,
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/app/hello.sh"], WorkingDir: "/app", Labels: { a: "b" } },
    rootfs: { type: "layers", diff_ids: fx.baseConfig.rootfs.diff_ids },
    history,
  };
}

export function skopeo(...args: string[]): string {
  return execFileSync("skopeo", ["--insecure-policy", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
