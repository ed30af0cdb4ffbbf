import { describe, it, expect, afterEach, beforeEach } from "@jest/globals";
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerCredentials, configKey, eraseCredentials, hostOfKey, storeCredentials } from "../../../src/registry/credentials.js";

let dir: string;
const b64 = (s: string) => Buffer.from(s).toString("base64");
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsbuild-creds-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("credentials", () => {
  it.each([["https://index.docker.io/v1/", "index.docker.io"], ["http://h:5000", "h:5000"], ["h:5000/v2/", "h:5000"], ["ghcr.io", "ghcr.io"]] as const)("host of %s is %s", (k, h) => {
    expect(hostOfKey(k)).toBe(h);
  });
  it("uses Docker Hub's legacy key", () => {
    expect(configKey("docker.io")).toBe("https://index.docker.io/v1/");
    expect(configKey("localhost:5000")).toBe("localhost:5000");
  });
  it("reads auths (any key form), identity tokens, Docker Hub aliases, then Podman's auth.json", async () => {
    await writeFile(join(dir, "config.json"), JSON.stringify({
      auths: {
        "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
        "http://my.reg:5000/v2/": { auth: b64("u:p:with:colons") },
        "tok.reg": { auth: b64("x:"), identitytoken: "refresh-me" },
      },
    }));
    const run = join(dir, "run");
    await mkdir(join(run, "containers"), { recursive: true });
    await writeFile(join(run, "containers", "auth.json"), JSON.stringify({ auths: { "podman.reg": { auth: b64("pod:man") } } }));
    const c = new DockerCredentials({ DOCKER_CONFIG: dir, XDG_RUNTIME_DIR: run });
    expect(await c.get("docker.io")).toEqual({ username: "hubuser", password: "hubpass" });
    expect(await c.get("my.reg:5000")).toEqual({ username: "u", password: "p:with:colons" });
    expect(await c.get("tok.reg")).toEqual({ username: "x", identityToken: "refresh-me" });
    expect(await c.get("podman.reg")).toEqual({ username: "pod", password: "man" });
    expect(await c.get("other.reg")).toBeUndefined();
  });
  it("fails clearly on a broken config.json or a missing helper", async () => {
    await writeFile(join(dir, "config.json"), "{nope");
    await expect(new DockerCredentials({ DOCKER_CONFIG: dir }).get("x")).rejects.toMatchObject({ code: "TSB_REGISTRY_CREDENTIALS" });
    await writeFile(join(dir, "config.json"), JSON.stringify({ credsStore: "does-not-exist-tsb" }));
    await expect(new DockerCredentials({ DOCKER_CONFIG: dir }).get("x")).rejects.toMatchObject({
      code: "TSB_REGISTRY_CREDENTIALS", message: "credential helper docker-credential-does-not-exist-tsb is not installed",
    });
  });
  it("stores like docker login (mode 0600, other settings kept) and erases", async () => {
    await writeFile(join(dir, "config.json"), JSON.stringify({ auths: { "a.reg": { auth: b64("a:b") } }, psFormat: "x" }));
    const env = { DOCKER_CONFIG: dir };
    expect(await storeCredentials("my.reg", { username: "me", password: "pw" }, env)).toBe(join(dir, "config.json"));
    expect((await stat(join(dir, "config.json"))).mode & 0o777).toBe(0o600);
    const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as { auths: Record<string, { auth: string }>; psFormat: string };
    expect(cfg.psFormat).toBe("x");
    expect(cfg.auths["my.reg"]!.auth).toBe(b64("me:pw"));
    expect(cfg.auths["a.reg"]!.auth).toBe(b64("a:b"));
    expect(await eraseCredentials("my.reg", env)).toBe(true);
    expect(await eraseCredentials("my.reg", env)).toBe(false);
    expect(await new DockerCredentials(env).get("a.reg")).toEqual({ username: "a", password: "b" });
    // A fresh DOCKER_CONFIG directory is created.
    const fresh = join(dir, "new", "docker");
    await storeCredentials("docker.io", { username: "h", password: "p" }, { DOCKER_CONFIG: fresh });
    expect(Object.keys((JSON.parse(await readFile(join(fresh, "config.json"), "utf8")) as { auths: object }).auths)).toEqual(["https://index.docker.io/v1/"]);
  });
});
