/**
 * The examples/ directory builds and runs: busybox hello world (FROM an imported local image), the multi-stage
 * build (FROM busybox in a real registry) and a Debian `apt-get install` image (FROM the Debian minbase imported
 * as debian:bookworm; needs the Debian mirror this machine's apt uses). Each image runs under runc.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { E2eWorld, fixture, ok, runBundle, skopeoConfig, toOciDir, unpack } from "../helpers/e2e.js";

describe("tsbuild build: examples", () => {
  let world: E2eWorld;
  let out: string;

  beforeAll(async () => {
    world = await E2eWorld.start(["busybox"]);
    await world.importBase("busybox", "busybox");
    out = world.tmp("examples-");
  });
  afterAll(async () => {
    await world?.stop();
  });

  it("hello: builds into the local image store and runs", async () => {
    ok(await world.run(["build", "--progress=plain", "-t", "hello", fixture("examples/hello")]));
    ok(await world.run(["save", "hello", "-o", join(out, "hello.tar")]));
    const bundle = unpack(toOciDir(`docker-archive:${join(out, "hello.tar")}`, join(out, "hello-oci")), join(out, "hello-bundle"));
    const r = runBundle(bundle);
    expect(r.stdout).toBe("hello from tsbuild\n");
    expect(r.code).toBe(0);
  });

  it("multistage: builds FROM the registry and runs only the final stage's content", async () => {
    const dir = join(out, "ms-oci");
    ok(await world.run(["build", "--progress=plain", "--build-arg", `BASE=${world.ref("busybox:latest")}`,
      "-o", `type=oci,dest=${dir},tar=false,name=multistage:1`, fixture("examples/multistage")]));
    const { config } = skopeoConfig(`oci:${dir}:1`);
    expect(config.config.Labels).toEqual({ "org.opencontainers.image.title": "multistage example" });
    expect(config.config.Entrypoint).toEqual(["cat"]);
    const bundle = unpack(`${dir}:1`, join(out, "ms-bundle"));
    expect(existsSync(join(bundle, "rootfs/src"))).toBe(false);
    const want = ["greeting.txt", "name.txt"].map((f) => readFileSync(join(fixture("examples/multistage"), "src", f), "utf8")).join("");
    const r = runBundle(bundle);
    expect(r.stdout).toBe(want);
    expect(r.stdout).toContain("tsbuild");
  });

  it("debian-apt: apt-get installs a package FROM debian:bookworm and the image runs", async () => {
    await world.importBase("debian", "debian:bookworm");
    const dir = join(out, "deb-oci");
    ok(await world.run(["build", "--progress=plain", "-o", `type=oci,dest=${dir},tar=false,name=debian-apt:1`, fixture("examples/debian-apt")],
      { timeoutMs: 300_000 }));
    const { config } = skopeoConfig(`oci:${dir}:1`);
    expect(config.config.User).toBe("nobody");
    expect(config.config.Cmd).toEqual(["/app/greet.sh"]);
    const bundle = unpack(`${dir}:1`, join(out, "deb-bundle"));
    expect(existsSync(join(bundle, "rootfs/usr/sbin/update-ca-certificates"))).toBe(true);
    expect(existsSync(join(bundle, "rootfs/var/lib/apt/lists/lock"))).toBe(false);
    const r = runBundle(bundle);
    expect(r.stdout).toBe("hello from debian\n");
    expect(r.code).toBe(0);
  }, 360_000);
});
