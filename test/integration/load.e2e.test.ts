import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { importBusybox, repo, requireBundle, tempDir, tsbuild } from "../helpers/cli-e2e.js";

// `--load` hands the image to `docker load` when a docker CLI is on PATH. CI has no Docker daemon, so the docker
// on PATH here is a stand-in that checks the archive it is given with skopeo (the real docker-archive reader) and
// records what it saw; without any docker the user is told where the image is and how to move it.
describe("build --load", () => {
  let dir: string;
  let root: string;
  beforeAll(async () => {
    requireBundle();
    dir = await tempDir("load");
    root = join(dir, "root");
    await importBusybox(root);
  });
  afterAll(async () => {
    await tsbuild(["unshare", "--root", root, "--", "rm", "-rf", root]);
    await rm(dir, { recursive: true, force: true });
  });

  it("loads the image into docker as a docker archive with its tag", () => {
    const bin = join(dir, "bin");
    const seen = join(dir, "seen.json");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "docker"),
      `#!/bin/sh\n[ "$1" = load ] && [ "$2" = -i ] || exit 64\nexec skopeo inspect --config "docker-archive:$3" > ${seen}\n`,
    );
    chmodSync(join(bin, "docker"), 0o755);
    const r = tsbuild(["build", "--progress=plain", "--load", "-t", "loaded:1", "--root", root, join(repo, "examples/hello")], {
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.stderr).toContain("--load: loaded docker.io/library/loaded:1 into Docker");
    expect(r.status).toBe(0);
    const config = JSON.parse(readFileSync(seen, "utf8"));
    expect(config.config.Cmd).toEqual(["cat", "/hello.txt"]);
    // The image also stays in tsbuild's own store.
    expect(tsbuild(["images", "--root", root]).stdout).toContain("loaded");
  });
});

