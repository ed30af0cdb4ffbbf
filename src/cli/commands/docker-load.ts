/**
 * `--load`: the image is always stored in tsbuild's local image store; when a Docker CLI is installed it is also
 * loaded into Docker (`docker load`), as `docker buildx build --load` does. Without one, say so and how to move it.
 */
import { spawn, spawnSync } from "node:child_process";
import type { Digest } from "../../util/digest.js";
import type { Descriptor } from "../../image/index.js";

export interface LoadTarget {
  readonly root: string;
  readonly manifest: Descriptor;
  readonly names: readonly string[];
  readonly imageId: Digest;
}

/** True when a `docker` executable is on PATH. */
export function hasDockerCli(env: NodeJS.ProcessEnv = process.env): boolean {
  return spawnSync("/bin/sh", ["-c", "command -v docker"], { env, stdio: "ignore" }).status === 0;
}

/** Stream a docker archive of the image into `docker load`; returns a message for the user (never throws). */
export async function loadIntoDocker(t: LoadTarget, stderr: NodeJS.WritableStream): Promise<void> {
  const name = t.names[0] ?? t.imageId;
  if (!hasDockerCli()) {
    stderr.write(
      `--load: no docker CLI found; the image is in tsbuild's local store (tsbuild images).\n` +
        `        To use it with Docker: tsbuild save ${name} | docker load\n`,
    );
    return;
  }
  const [{ openContentStore, rootLayout, tempName }, { writeDockerArchive }, { createWriteStream }, { mkdir, rm }, { join }, { finished }] =
    await Promise.all([
      import("../../store/index.js"),
      import("../../image/index.js"),
      import("node:fs"),
      import("node:fs/promises"),
      import("node:path"),
      import("node:stream/promises"),
    ]);
  const store = await openContentStore(t.root);
  const tmpDir = rootLayout(t.root).tmp;
  await mkdir(tmpDir, { recursive: true });
  const file = join(tmpDir, tempName(".docker.tar"));
  let code: number;
  let err = "";
  try {
    const out = createWriteStream(file);
    await writeDockerArchive(store, [{ target: t.manifest, names: [...t.names] }], out);
    out.end();
    await finished(out);
    const child = spawn("docker", ["load", "-i", file], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    code = await new Promise<number>((resolve) => {
      child.on("error", (e) => ((err += e.message), resolve(1)));
      child.on("close", (c) => resolve(c ?? 1));
    });
  } finally {
    await rm(file, { force: true });
  }
  if (code === 0) {
    stderr.write(`--load: loaded ${name} into Docker\n`);
  } else {
    stderr.write(
      `--load: docker load failed (${err.trim().split("\n").pop() || `exit ${code}`}); the image is in tsbuild's local store.\n` +
        `        Start Docker (or set DOCKER_HOST) and run: tsbuild save ${name} | docker load\n`,
    );
  }
}
