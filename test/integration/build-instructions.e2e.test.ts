/**
 * `tsbuild build` end to end, the way a `docker buildx build` user calls it: one Dockerfile that uses every
 * instruction (fixtures/e2e/features), FROM busybox in a real registry, with -f, several -t, --build-arg,
 * --platform, --secret (file and env), --network=none, --label, --iidfile, --metadata-file, --build-context and
 * every output type. Results are checked with skopeo, umoci and runc.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  E2eWorld, fixture, hostArch, layerBytes, modeOf, ok, ownerOf, runBundle, skopeoConfig, skopeoInspect, tool, toOciDir, treeBytes, unpack,
  type CliResult,
} from "../helpers/e2e.js";

const FILE_SECRET = "s3cr3t-file-value";
const ENV_SECRET = "s3cr3t-env-value";

describe("tsbuild build: instructions, flags and outputs", () => {
  let world: E2eWorld;
  let secretFile: string;
  let first: CliResult;
  let iid: string;
  let metadata: Record<string, any>;
  let work: string;

  /** The flags of every build of the features fixture (same cache keys), plus `extra`. */
  const build = (extra: readonly string[], progress = "plain"): Promise<CliResult> =>
    world.run([
      "build", `--progress=${progress}`, "-f", join(fixture("features"), "Dockerfile"),
      "--build-arg", `BASE=${world.ref("busybox:latest")}`, "--build-arg", "VERSION=1.2.3",
      "--platform", `linux/${hostArch()}`,
      "--secret", `id=token,src=${secretFile}`, "--secret", "id=envtok,env=E2E_ENV_TOKEN",
      "--network=none", "--label", "org.example.cli=yes",
      "--build-context", `extra=${fixture("features-extra")}`,
      ...extra, fixture("features"),
    ], { env: { E2E_ENV_TOKEN: ENV_SECRET } });

  beforeAll(async () => {
    world = await E2eWorld.start(["busybox"]);
    work = world.tmp("features-");
    secretFile = join(work, "token.txt");
    writeFileSync(secretFile, FILE_SECRET);
    first = await build([
      "-t", "e2e/features:1", "-t", "e2e/features:latest",
      "--iidfile", join(work, "iid"), "--metadata-file", join(work, "metadata.json"),
      "-o", `type=oci,dest=${join(work, "image.tar")}`,
    ]);
    ok(first);
    iid = readFileSync(join(work, "iid"), "utf8");
    metadata = JSON.parse(readFileSync(join(work, "metadata.json"), "utf8"));
  });
  afterAll(async () => {
    await world?.stop();
  });

  it("writes the image ID and BuildKit's metadata keys, and shows plain progress", () => {
    expect(iid).toMatch(/^sha256:[0-9a-f]{64}$/);
    const { raw } = skopeoConfig(`oci-archive:${join(work, "image.tar")}:1`);
    expect(`sha256:${createHash("sha256").update(raw).digest("hex")}`).toBe(iid);
    expect(metadata["containerimage.config.digest"]).toBe(iid);
    expect(metadata["containerimage.digest"]).toMatch(/^sha256:/);
    expect(metadata["containerimage.descriptor"]).toMatchObject({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: metadata["containerimage.digest"] });
    expect(metadata["image.name"]).toBe("docker.io/e2e/features:1,docker.io/e2e/features:latest");
    expect(first.stderr).toMatch(/^#\d+ \[builder 2\/4\] RUN --mount=type=bind/m);
    expect(first.stderr).toMatch(/^#\d+ DONE \d/m);
    expect(first.stderr).toContain(`FROM ${world.ref("busybox:latest")}`);
  });

  it("sets every config field the Dockerfile and the flags ask for", () => {
    const { config } = skopeoConfig(`oci-archive:${join(work, "image.tar")}:1`);
    expect(config.architecture).toBe(hostArch());
    expect(config.os).toBe("linux");
    const c = config.config;
    expect(c.User).toBe("1000:50");
    expect(c.WorkingDir).toBe("/app");
    expect(c.Env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello", "APP_HOME=/app"]);
    expect(c.ExposedPorts).toEqual({ "8080/tcp": {}, "9090/udp": {} });
    expect(c.Volumes).toEqual({ "/data": {} });
    expect(c.Healthcheck).toEqual({ Test: ["CMD-SHELL", "test -f /app/base.txt"], Interval: 30e9, Timeout: 3e9, Retries: 2 });
    expect(c.StopSignal).toBe("SIGINT");
    expect(c.Shell).toEqual(["/bin/sh", "-eu", "-c"]);
    expect(c.Entrypoint).toEqual(["/usr/local/bin/entry.sh"]);
    expect(c.Cmd).toEqual(["world"]);
    expect(c.Labels).toEqual({ "org.example.version": "1.2.3", "org.example.stage": "final", "org.example.cli": "yes" });
    const layers = (config.history as { empty_layer?: boolean }[]).filter((h) => !h.empty_layer).length;
    expect(layers).toBe(config.rootfs.diff_ids.length);
    // The config's time is the last step's, and every history entry has one.
    expect(config.created).toBe(config.history[config.history.length - 1].created);
  });

  it("writes files with their contents, modes and owners, and the image runs under runc", () => {
    const bundle = unpack(toOciDir(`oci-archive:${join(work, "image.tar")}:1`, join(work, "oci")), join(work, "bundle"));
    const fs = join(bundle, "rootfs");
    const read = (p: string): string => readFileSync(join(fs, p), "utf8");
    expect(read("app/base.txt")).toBe("base:hello\n");
    // ARG scoping: VERSION from --build-arg, GREETING from the global ARG re-declared in base, BASE not declared.
    expect(read("app/version.txt")).toBe("version=1.2.3 greeting=hello base=[]\n");
    expect(read("app/bind.txt")).toBe("alpha\n");
    expect(read("app/tmpfs.txt")).toBe("tmpfile\n");
    expect(existsSync(join(fs, "scratch/tmpfile"))).toBe(false);
    expect(existsSync(join(fs, "cache/runs"))).toBe(false);
    expect(existsSync(join(fs, "mnt/data/a.txt"))).toBe(false);
    expect(read("app/net.txt")).toBe("lo\n");
    // The RUN saw both secrets (it wrote their hash), and they are not left in the image.
    expect(read("app/secrets.txt")).toBe(`${createHash("sha256").update(FILE_SECRET + ENV_SECRET).digest("hex")}\n`);
    expect(existsSync(join(fs, "run/secrets/token"))).toBe(false);
    expect(read("app/heredoc.txt")).toBe("heredoc-run\nline two\n");
    expect(read("app/heredoc-copy.txt")).toBe("copied by heredoc\n");
    expect(read("app/owned.txt")).toBe("alpha\n");
    expect(modeOf(join(fs, "app/owned.txt"))).toBe("0640");
    expect(ownerOf(join(fs, "app/owned.txt"))).toBe("1000:50");
    expect(ownerOf(join(fs, "app/bind.txt"))).toBe("0:0");
    expect(read("app/linked/b.txt")).toBe("bravo\n");
    expect(read("app/parents/data/nested/deep/c.txt")).toBe("charlie\n");
    expect(read("app/filtered/a.txt")).toBe("alpha\n");
    expect(read("app/filtered/nested/deep/c.txt")).toBe("charlie\n");
    expect(existsSync(join(fs, "app/filtered/ignored.skip"))).toBe(false);
    expect(read("app/unpacked/pkg/inside.txt")).toBe("from the archive\n");
    expect(read("app/extra.txt")).toBe("extra context\n");
    expect(read("app/shell.txt")).toBe("shell=/bin/sh\n");
    expect(modeOf(join(fs, "usr/local/bin/entry.sh"))).toBe("0755");
    expect(modeOf(join(fs, "tmp"))).toBe("1777");

    const run = runBundle(bundle);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("hello world from version=1.2.3 greeting=hello base=[]\nextra context\ncopied by heredoc\n");
    expect(run.code).toBe(0);
  });

  it("keeps secret values out of layers, history, logs, output and the metadata file", () => {
    const places: [string, Buffer][] = [
      ["layers and config", layerBytes(join(work, "oci"))],
      ["build logs", treeBytes(join(world.root, "logs"))],
      ["CLI output", Buffer.from(first.stdout + first.stderr)],
      ["metadata file", readFileSync(join(work, "metadata.json"))],
    ];
    expect(places[0]![1].length).toBeGreaterThan(0);
    expect(places[1]![1].length).toBeGreaterThan(0);
    for (const [where, bytes] of places) {
      for (const secret of [FILE_SECRET, ENV_SECRET]) expect({ where, leaked: bytes.includes(secret) }).toEqual({ where, leaked: false });
    }
  });

  it("writes an OCI directory, a docker archive, a local directory and a tar, all of the same image", async () => {
    const dir = join(work, "out-oci");
    const docker = join(work, "docker.tar");
    const local = join(work, "out-local");
    const tarFile = join(work, "fs.tar");
    const r = ok(await build([
      "-o", `type=oci,dest=${dir},tar=false,name=e2e/features:dir`,
      "-o", `type=docker,dest=${docker},name=e2e/features:docker`,
      "-o", `type=local,dest=${local}`,
      "-o", `type=tar,dest=${tarFile}`,
    ]));
    expect(r.stderr).toMatch(/^#\d+ CACHED$/m);
    const ociCfg = skopeoConfig(`oci:${dir}:dir`);
    expect(`sha256:${createHash("sha256").update(ociCfg.raw).digest("hex")}`).toBe(iid);
    const dockerCfg = skopeoConfig(`docker-archive:${docker}`);
    expect(`sha256:${createHash("sha256").update(dockerCfg.raw).digest("hex")}`).toBe(iid);
    expect(readFileSync(join(local, "app/version.txt"), "utf8")).toBe("version=1.2.3 greeting=hello base=[]\n");
    expect(modeOf(join(local, "usr/local/bin/entry.sh"))).toBe("0755");
    const listing = tool("tar", ["-tf", tarFile]).split("\n");
    expect(listing).toEqual(expect.arrayContaining(["app/owned.txt", "usr/local/bin/entry.sh"]));
    const bundle = unpack(`${dir}:dir`, join(work, "bundle-dir"));
    expect(runBundle(bundle, ["cat", "/app/extra.txt"]).stdout).toBe("extra context\n");
  });

  it("pushes to the registry with --push and stores with --load", async () => {
    const name = world.ref("e2e/features:pushed");
    ok(await build(["-t", name, "--push", "--iidfile", join(work, "iid-push")]));
    expect(readFileSync(join(work, "iid-push"), "utf8")).toBe(iid);
    const remote = skopeoConfig(`docker://${name}`);
    expect(`sha256:${createHash("sha256").update(remote.raw).digest("hex")}`).toBe(iid);
    expect(skopeoInspect(`docker://${name}`).Labels["org.example.cli"]).toBe("yes");

    ok(await build(["-t", "e2e/loaded:1", "--load"]));
    const images = ok(await world.run(["images"])).stdout;
    expect(images).toMatch(/e2e\/loaded\s+1\s/);
    const saved = join(work, "saved.tar");
    ok(await world.run(["save", "e2e/loaded:1", "-o", saved]));
    const cfg = skopeoConfig(`docker-archive:${saved}`);
    expect(`sha256:${createHash("sha256").update(cfg.raw).digest("hex")}`).toBe(iid);
  });

  it("--target builds only the named stage", async () => {
    const out = join(work, "target-local");
    const r = ok(await build(["--target", "builder", "-o", `type=local,dest=${out}`]));
    expect(readFileSync(join(out, "version.txt"), "utf8")).toBe("version=1.2.3 greeting=hello base=[]\n");
    expect(existsSync(join(out, "app/owned.txt"))).toBe(false);
    expect(r.stderr).not.toContain("[stage-2");
  });

  it("--add-host entries are in every RUN's /etc/hosts; --provenance=false is accepted, --sbom=true warns", async () => {
    const dir = world.tmp("hosts-");
    writeFileSync(join(dir, "Dockerfile"), `FROM ${world.ref("busybox:latest")}\nRUN grep -q "^10.1.2.3\tdb$" /etc/hosts && grep -q "^::1\tv6$" /etc/hosts && cp /etc/hosts /hosts-copy\n`);
    const out = join(dir, "out");
    const r = ok(await world.run(["build", "--progress=plain", "--add-host", "db:10.1.2.3", "--add-host", "v6=::1", "--provenance=false", "--sbom=true", "-o", `type=local,dest=${out}`, dir]));
    expect(readFileSync(join(out, "hosts-copy"), "utf8")).toContain("10.1.2.3\tdb\n");
    expect(r.stderr).toContain("warning: --sbom=true: tsbuild makes no SBOM attestation");
    expect(r.stderr).not.toContain("--provenance");
    const bad = await world.run(["build", "--add-host", "db", dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid --add-host");
  });
});
