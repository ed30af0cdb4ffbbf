/**
 * Authentication against real registries: htpasswd Basic auth and token auth (JWTs from test/helpers/token-server),
 * credentials from config.json `auths`, a credential helper and Podman's auth.json; secrets never in messages.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openContentStore, type ContentStore } from "../../src/store/index.js";
import { parseReference } from "../../src/image/reference.js";
import { DockerCredentials, RegistryError, StaticCredentials, openRegistry, verifyLogin, type Registry, type CredentialSource } from "../../src/registry/index.js";
import { startRegistry, writeTestImage, type TestRegistry } from "../helpers/registry.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

const SECRET = "s3cr3t-P4ssw0rd-do-not-print";
let tmp: string;
let basicReg: TestRegistry;
let tokenReg: TestRegistry;
let tokens: TokenServer;
const opened: Registry[] = [];

function session(credentials?: CredentialSource, root?: string): Registry {
  const r = openRegistry({ retry: { baseDelayMs: 10 }, credentials: credentials ?? new StaticCredentials(new Map()), ...(root ? { root } : {}) });
  opened.push(r);
  return r;
}
function creds(host: string, username: string, password: string): StaticCredentials {
  return new StaticCredentials(new Map([[host, { username, password }]]));
}
async function newStore(): Promise<ContentStore> {
  return openContentStore(await mkdtemp(join(tmp, "root-")));
}
/** Assert the secret is nowhere in what a user could see. */
function expectNoSecret(err: unknown): void {
  const e = err as RegistryError;
  const visible = `${e.message}\n${e.hint}\n${e.stack}\n${JSON.stringify(e)}\n${String((e as { cause?: unknown }).cause ?? "")}`;
  expect(visible).not.toContain(SECRET);
  expect(visible).not.toContain(Buffer.from(`pusher:${SECRET}`).toString("base64"));
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-regauth-"));
  basicReg = await startRegistry({ kind: "htpasswd", users: { pusher: SECRET } });
  tokens = await startTokenServer({ users: { pusher: SECRET }, privateRepos: ["secret/app"] });
  tokenReg = await startRegistry({ kind: "token", realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certFile: tokens.certFile });
});
afterAll(async () => {
  for (const r of opened) await r.close();
  await basicReg?.stop();
  await tokenReg?.stop();
  await tokens?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("Basic auth (htpasswd)", () => {
  it("refuses an anonymous push with a hint to log in", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 1 });
    const err = await session().push(src, desc, parseReference(`${basicReg.host}/team/app:1`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: "TSB_REGISTRY_UNAUTHORIZED", status: 401 });
    expect((err as RegistryError).hint).toContain(`tsbuild login ${basicReg.host}`);
  });

  it("pushes and pulls with credentials from config.json auths", async () => {
    const dockerConfig = join(tmp, "docker-basic");
    await mkdir(dockerConfig, { recursive: true });
    const auth = Buffer.from(`pusher:${SECRET}`).toString("base64");
    await writeFile(join(dockerConfig, "config.json"), JSON.stringify({ auths: { [`http://${basicReg.host}`]: { auth } } }));
    const c = new DockerCredentials({ DOCKER_CONFIG: dockerConfig });
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 2 });
    const ref = parseReference(`${basicReg.host}/team/app:1`);
    expect((await session(c).push(src, desc, ref)).digest).toBe(desc.digest);
    const dst = await newStore();
    expect((await session(c).pull(ref, dst)).manifest.digest).toBe(desc.digest);
  });

  it("never shows the password when it is refused", async () => {
    const wrong = creds(basicReg.host, "pusher", `${SECRET}-wrong`);
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 1 });
    const err = await session(wrong).push(src, desc, parseReference(`${basicReg.host}/team/app:2`)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TSB_REGISTRY_UNAUTHORIZED" });
    expectNoSecret(err);
    expect(JSON.stringify(err)).not.toContain(`${SECRET}-wrong`);
    await expect(verifyLogin(basicReg.host, { username: "pusher", password: SECRET })).resolves.toBeUndefined();
    const loginErr = await verifyLogin(basicReg.host, { username: "pusher", password: `${SECRET}-wrong` }).catch((e: unknown) => e);
    expect(loginErr).toMatchObject({ code: "TSB_REGISTRY_UNAUTHORIZED" });
    expect(`${(loginErr as Error).message}${(loginErr as RegistryError).hint}`).not.toContain(SECRET);
  });
});

describe("token auth", () => {
  it("pushes with credentials, reusing tokens, and pulls public repositories anonymously", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 4 });
    const ref = parseReference(`${tokenReg.host}/public/app:1`);
    const before = tokens.requests.length;
    await session(creds(tokenReg.host, "pusher", SECRET)).push(src, desc, ref);
    const pushTokens = tokens.requests.slice(before);
    // One token for repository:public/app:pull,push, reused for all 5 blobs and the manifest.
    expect(pushTokens.length).toBeLessThanOrEqual(2);
    expect(pushTokens.every((t) => t.user === "pusher" && t.service === tokens.service)).toBe(true);
    expect(pushTokens.some((t) => t.scopes.includes("repository:public/app:pull,push"))).toBe(true);

    const dst = await newStore();
    const mark = tokens.requests.length;
    const pulled = await session().pull(ref, dst);
    expect(pulled.manifest.digest).toBe(desc.digest);
    const pullTokens = tokens.requests.slice(mark);
    expect(pullTokens.length).toBe(1);
    expect(pullTokens[0]).toMatchObject({ user: undefined, scopes: ["repository:public/app:pull"] });
  });

  it("asks for pull on the source repository when mounting", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 1 });
    const c = creds(tokenReg.host, "pusher", SECRET);
    const r = session(c, src.layout.root);
    await r.push(src, desc, parseReference(`${tokenReg.host}/mount/src:1`));
    const mark = tokens.requests.length;
    const res = await r.push(src, desc, parseReference(`${tokenReg.host}/mount/dst:1`));
    expect(res.blobsMounted).toBe(2);
    const scopes = tokens.requests.slice(mark).flatMap((t) => t.scopes);
    expect(scopes).toEqual(expect.arrayContaining(["repository:mount/dst:pull,push", "repository:mount/src:pull"]));
  });

  it("refuses anonymous pulls of private repositories and bad passwords, without leaking them", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 1 });
    const ref = parseReference(`${tokenReg.host}/secret/app:1`);
    await session(creds(tokenReg.host, "pusher", SECRET)).push(src, desc, ref);
    const anon = await session().pull(ref, await newStore()).catch((e: unknown) => e);
    expect(anon).toMatchObject({ code: "TSB_REGISTRY_UNAUTHORIZED", status: 401 });
    expect((anon as RegistryError).message).toContain("secret/app");

    const bad = await session(creds(tokenReg.host, "pusher", `${SECRET}-bad`)).pull(ref, await newStore()).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: "TSB_REGISTRY_UNAUTHORIZED" });
    expectNoSecret(bad);
    await expect(verifyLogin(tokenReg.host, { username: "pusher", password: SECRET })).resolves.toBeUndefined();
    const loginErr = await verifyLogin(tokenReg.host, { username: "pusher", password: `${SECRET}-bad` }).catch((e: unknown) => e);
    expect(loginErr).toMatchObject({ code: "TSB_REGISTRY_UNAUTHORIZED" });
    expectNoSecret(loginErr);
  });

  it("reads credentials from a credential helper and from Podman's auth.json", async () => {
    const bin = join(tmp, "bin");
    await mkdir(bin, { recursive: true });
    const helper = join(bin, "docker-credential-tsbtest");
    // A real helper speaking the protocol: `get` reads the server URL on stdin and prints JSON.
    await writeFile(helper, `#!/bin/sh\nread url\nif [ "$1" = get ] && [ "$url" = "${tokenReg.host}" ]; then\n  printf '{"ServerURL":"%s","Username":"pusher","Secret":"${SECRET}"}' "$url"\nelse\n  echo "credentials not found in native keychain"; exit 1\nfi\n`);
    await chmod(helper, 0o755);
    const dockerConfig = join(tmp, "docker-helper");
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(join(dockerConfig, "config.json"), JSON.stringify({ credHelpers: { [tokenReg.host]: "tsbtest" } }));
    const viaHelper = new DockerCredentials({ DOCKER_CONFIG: dockerConfig, PATH: `${bin}:${process.env.PATH}` });
    expect(await viaHelper.get(tokenReg.host)).toEqual({ username: "pusher", password: SECRET });
    expect(await viaHelper.get("other.example")).toBeUndefined();
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 1 });
    await session(viaHelper).push(src, desc, parseReference(`${tokenReg.host}/helper/app:1`));

    const runtime = join(tmp, "runtime");
    await mkdir(join(runtime, "containers"), { recursive: true });
    await writeFile(join(runtime, "containers", "auth.json"), JSON.stringify({ auths: { [tokenReg.host]: { auth: Buffer.from(`pusher:${SECRET}`).toString("base64") } } }));
    const viaPodman = new DockerCredentials({ DOCKER_CONFIG: join(tmp, "empty-docker"), XDG_RUNTIME_DIR: runtime });
    await session(viaPodman).push(src, desc, parseReference(`${tokenReg.host}/podman/app:1`));
  });
});
