/**
 * Base-image sources end to end, as a Docker user expects them: a base pulled from a registry is named locally
 * (the rebuild works with the registry stopped), `--build-context NAME=docker-image://…|oci-layout://…`, and
 * foreign platforms (a multi-platform index in a real registry; RUN refused without emulation, COPY-only fine).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { E2eWorld, ok, skopeoConfig, tool, tsbuild } from "../helpers/e2e.js";

let world: E2eWorld;
/** An OCI layout with busybox tagged `latest` and a two-platform index (amd64 + an arm64-labelled copy) tagged `multi`. */
let layout: string;

function put(dir: string, bytes: Buffer): { digest: string; size: number } {
  const hex = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(join(dir, "blobs", "sha256", hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** Add to the layout an index of the `latest` image and a copy of it whose config says arm64; tag it `multi`. */
function addMultiPlatform(dir: string): void {
  const blob = (d: string): any => JSON.parse(readFileSync(join(dir, "blobs", "sha256", d.slice(7)), "utf8"));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const top = index.manifests.find((m: any) => m.annotations?.["org.opencontainers.image.ref.name"] === "latest");
  const manifest = blob(top.digest);
  const config = { ...blob(manifest.config.digest), architecture: "arm64" };
  const cfg = put(dir, Buffer.from(JSON.stringify(config)));
  const arm = put(dir, Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, ...cfg } })));
  const multi = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: top.mediaType, digest: top.digest, size: top.size, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: manifest.mediaType, ...arm, platform: { os: "linux", architecture: "arm64" } },
    ],
  };
  const idx = put(dir, Buffer.from(JSON.stringify(multi)));
  index.manifests.push({ mediaType: multi.mediaType, ...idx, annotations: { "org.opencontainers.image.ref.name": "multi" } });
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
}

function context(files: Readonly<Record<string, string>>): string {
  const dir = world.tmp("ctx-");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

beforeAll(async () => {
  world = await E2eWorld.start(["busybox"]);
  layout = join(world.tmp("layout-"), "oci");
  tool("skopeo", ["copy", "-q", "--src-tls-verify=false", `docker://${world.ref("busybox:latest")}`, `oci:${layout}:latest`]);
  addMultiPlatform(layout);
  tool("skopeo", ["copy", "-q", "--all", "--dest-tls-verify=false", `oci:${layout}:multi`, `docker://${world.ref("multi:latest")}`]);
}, 240_000);
afterAll(async () => {
  await world?.stop();
});

describe("named image contexts", () => {
  it("docker-image:// replaces FROM NAME and COPY --from=NAME, resolved like a FROM", async () => {
    const root = world.tmp("root-");
    const ctx = context({ Dockerfile: "FROM base\nCOPY --from=tools /bin/busybox /bb\nRUN cmp /bb /bin/busybox && echo via-context > /ok\n" });
    const r = ok(await tsbuild(["build", "--progress=plain", "-t", "named", "--build-context", `base=docker-image://${world.ref("busybox")}`, "--build-context", `tools=docker-image://${world.ref("busybox:latest")}`, ctx], { root }));
    expect(r.stderr).toContain(`FROM ${world.ref("busybox:latest")}@sha256:`);
    const images = ok(await tsbuild(["images"], { root })).stdout;
    expect(images).toContain(`${world.ref("busybox")}`);
    // A stage named like the context is replaced by the image: its own FROM and RUN never happen (BuildKit).
    const staged = context({ Dockerfile: "FROM scratch AS base\nRUN false\nFROM base\nRUN test -x /bin/sh\n" });
    ok(await tsbuild(["build", "--build-context", `base=docker-image://${world.ref("busybox")}`, staged], { root }));
    const bad = await tsbuild(["build", "--build-context", "base=docker-image://Not A Ref", ctx], { root });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--build-context base: invalid image reference/);
  }, 180_000);

  it("oci-layout:// reads a layout on disk by tag, digest and platform; a tampered layout is refused", async () => {
    const root = world.tmp("root-");
    const ctx = context({ Dockerfile: "FROM base\nRUN echo from-layout > /f\nFROM --platform=linux/arm64 arm\nCOPY --from=0 /f /f\n" });
    const out = join(world.tmp("out-"), "img.tar");
    ok(await tsbuild(["build", "--progress=plain", "--build-context", `base=oci-layout://${layout}`, "--build-context", `arm=oci-layout://${layout}:multi`, "-o", `type=oci,dest=${out}`, ctx], { root }));
    expect(skopeoConfig(`oci-archive:${out}`).config.architecture).toBe("arm64");
    // Selection by digest (the index's), then by platform; the image tsbuild saves as OCI works as a layout too.
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    const multi = index.manifests.find((m: any) => m.annotations["org.opencontainers.image.ref.name"] === "multi").digest;
    ok(await tsbuild(["build", "-t", "by-digest", "--build-context", `base=oci-layout://${layout}@${multi}`, context({ Dockerfile: "FROM base\nRUN true\n" })], { root }));
    const saved = world.tmp("saved-");
    ok(await tsbuild(["save", "--format", "oci", "-o", join(saved, "x.tar"), "by-digest"], { root }));
    mkdirSync(join(saved, "oci"));
    tool("tar", ["-xf", join(saved, "x.tar"), "-C", join(saved, "oci")]);
    ok(await tsbuild(["build", "--build-context", `base=oci-layout://${join(saved, "oci")}`, context({ Dockerfile: "FROM base\nRUN test -x /bin/sh\n" })], { root: world.tmp("root-") }));

    const tampered = join(saved, "oci");
    const top = JSON.parse(readFileSync(join(tampered, "index.json"), "utf8")).manifests[0];
    const manifest = JSON.parse(readFileSync(join(tampered, "blobs", "sha256", top.digest.slice(7)), "utf8"));
    const layer = join(tampered, "blobs", "sha256", manifest.layers[0].digest.slice(7));
    const bytes = readFileSync(layer);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(layer, bytes);
    const bad = await tsbuild(["build", "--build-context", `base=oci-layout://${tampered}`, context({ Dockerfile: "FROM base\n" })], { root: world.tmp("root-") });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/oci-layout .*: blobs\/sha256\/[0-9a-f]{64} does not match its digest/);
    const missing = await tsbuild(["build", "--build-context", `base=oci-layout://${layout}:nope`, context({ Dockerfile: "FROM base\n" })], { root });
    expect(missing.stderr).toMatch(/no image tagged "nope" in index\.json/);
  }, 180_000);
});

describe("foreign platforms", () => {
  it("selects the arm64 manifest of a multi-platform index; RUN is refused without emulation, COPY-only builds", async () => {
    const root = world.tmp("root-");
    const ref = world.ref("multi:latest");
    const run = await tsbuild(["build", "--progress=plain", context({ Dockerfile: `FROM --platform=linux/arm64 ${ref}\nRUN true\n` })], { root });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/the stage's base image is linux\/arm64 but this host is linux\/amd64, and no emulation is available \(binfmt_misc has no enabled qemu-aarch64 handler\)/);
    expect(run.stderr).toMatch(/hint: register qemu with binfmt_misc/);

    const out = join(world.tmp("out-"), "arm.tar");
    ok(await tsbuild(["build", "-o", `type=oci,dest=${out}`, context({ Dockerfile: `FROM --platform=linux/arm64 ${ref}\nCOPY f /f\n`, f: "hello\n" })], { root }));
    const cfg = skopeoConfig(`oci-archive:${out}`).config;
    expect(`${cfg.os}/${cfg.architecture}`).toBe("linux/arm64");
    // The same name for the host platform resolves the amd64 manifest, and RUN works there.
    ok(await tsbuild(["build", context({ Dockerfile: `FROM ${ref}\nRUN true\n` })], { root }));
  }, 180_000);
});

describe("pulled base images are named locally", () => {
  it("records the pulled base under its name; the rebuild works with the registry stopped; --pull asks the registry", async () => {
    const root = world.tmp("root-");
    const ref = world.ref("busybox:latest");
    ok(await tsbuild(["build", "-t", "first", context({ Dockerfile: `FROM ${ref}\nRUN echo one > /x\n` })], { root }));
    const images = ok(await tsbuild(["images"], { root })).stdout;
    expect(images).toMatch(new RegExp(`${world.ref("busybox").replace(/[.]/g, "\\.")}\\s+latest`));

    await world.registry.stop();
    const again = ok(await tsbuild(["build", "--progress=plain", "-t", "first", context({ Dockerfile: `FROM ${ref}\nRUN echo one > /x\n` })], { root }));
    expect(again.stderr).toMatch(/CACHED/);
    // A new step needs the base layers: they are local too.
    ok(await tsbuild(["build", "-t", "second", context({ Dockerfile: `FROM ${ref}\nRUN echo two > /x\n` })], { root }));
    const pulled = await tsbuild(["build", "--pull", context({ Dockerfile: `FROM ${ref}\nRUN echo one > /x\n` })], { root });
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toMatch(/127\.0\.0\.1:\d+/);
  }, 180_000);
});
