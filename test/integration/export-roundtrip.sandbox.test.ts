/**
 * Exported images used by real tools end to end: a docker archive and a registry push are copied by skopeo into an
 * OCI layout, unpacked by umoci and run by runc, and must print what the image's CMD prints.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportOutputs, parseOutputSpecs } from "../../src/exporter/index.js";
import { openRegistry, type Registry } from "../../src/registry/index.js";
import { requireTool } from "../helpers/base-images.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { isRootless, requireSession } from "../helpers/session.js";
import { appImage, buildApp, openFixture, skopeo, type ExportFixture } from "../unit/exporter/fixture.js";

let fx: ExportFixture;
let work: string;
let reg: TestRegistry | undefined;
let registry: Registry | undefined;

beforeAll(async () => {
  requireSession();
  for (const [tool, pkg] of [["skopeo", "skopeo"], ["umoci", "umoci"], ["runc", "runc"]] as const) requireTool(tool, pkg);
  fx = await openFixture();
  work = mkdtempSync(join(tmpdir(), "tsb-export-rt-"));
});
afterAll(async () => {
  await registry?.close();
  await reg?.stop();
  await fx?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** skopeo copy `src` into an OCI layout, umoci unpack, runc run: the container's stdout. */
function runImage(src: string, name: string): string {
  const layout = join(work, `${name}-layout`);
  // a private signature lookaside dir (the default one, /var/lib/containers/sigstore, is unreadable in a rootless session)
  const registriesD = mkdtempSync(join(work, "registries.d-"));
  mkdirSync(join(registriesD, "sigstore"));
  writeFileSync(join(registriesD, "default.yaml"), `default-docker:\n  lookaside: file://${join(registriesD, "sigstore")}\n`);
  skopeo("--registries.d", registriesD, "copy", "--src-tls-verify=false", src, `oci:${layout}:run`);
  const bundle = join(work, `${name}-bundle`);
  const rootless = isRootless();
  execFileSync("umoci", ["unpack", ...(rootless ? ["--rootless"] : []), "--image", `${layout}:run`, bundle], { stdio: "pipe" });
  const configPath = join(bundle, "config.json");
  const spec = JSON.parse(readFileSync(configPath, "utf8")) as { process: { terminal: boolean } };
  spec.process.terminal = false;
  writeFileSync(configPath, JSON.stringify(spec));
  const state = mkdtempSync(join(tmpdir(), "tsb-runc-"));
  try {
    return execFileSync("runc", ["--root", state, ...(rootless ? ["--rootless", "true"] : []), "run", "-b", bundle, `tsb-rt-${name}-${process.pid}`], {
      encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000,
    });
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

describe("exported images run", () => {
  it("a docker archive, copied by skopeo, unpacked by umoci, runs under runc", async () => {
    const ref = await buildApp(fx);
    const file = join(work, "app-docker.tar");
    await exportOutputs({
      outputs: parseOutputSpecs([`type=docker,dest=${file}`]), ref, image: appImage(fx), tags: ["localhost/app:rt"],
      refs: fx.refs, store: fx.store, images: fx.images, sourceDateEpoch: 1_700_000_000,
    });
    expect(runImage(`docker-archive:${file}`, "docker")).toBe("hello from tsbuild\n");
  });

  it("an image pushed to a registry, pulled by skopeo, runs under runc", async () => {
    reg = await startRegistry();
    registry = openRegistry({ root: join(fx.dir, "root") });
    const ref = await buildApp(fx);
    const name = `${reg.host}/rt/app:1`;
    const r = await exportOutputs({
      outputs: parseOutputSpecs(["type=image,push=true,oci-mediatypes=false"]), ref, image: appImage(fx), tags: [name],
      refs: fx.refs, store: fx.store, images: fx.images, registry: () => registry!,
    });
    expect(r.image!.manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect((await fx.images.getImage(name)).target.digest).toBe(r.image!.manifest.digest);
    expect(runImage(`docker://${name}`, "registry")).toBe("hello from tsbuild\n");
  });
});
