/**
 * `tsbuild pull|push|login|logout` as a user runs them (the bundled bin/tsbuild.js) against real registries.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openImageStore, type ImageStore } from "../../src/image/index.js";
import { parseReference } from "../../src/image/reference.js";
import { openRegistry } from "../../src/registry/index.js";
import { startRegistry, writeTestImage, type TestRegistry } from "../helpers/registry.js";

const repo = resolve(import.meta.dirname, "../..");
const SECRET = "cli-S3cret-passw0rd";
let tmp: string;
let open: TestRegistry;
let basic: TestRegistry;

function tsbuild(args: string[], env: Record<string, string> = {}, input?: string): { status: number; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), ...args], {
    encoding: "utf8",
    input: input ?? "",
    env: { PATH: process.env.PATH ?? "", HOME: join(tmp, "home"), DOCKER_CONFIG: join(tmp, "docker"), ...env },
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

beforeAll(async () => {
  if (!existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run 'node scripts/bundle.mjs' (npm test does it)");
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-regcli-"));
  open = await startRegistry();
  basic = await startRegistry({ kind: "htpasswd", users: { cli: SECRET } });
});
afterAll(async () => {
  await open?.stop();
  await basic?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("tsbuild pull / push", () => {
  it("pulls into the root's image db and pushes a local image elsewhere", async () => {
    const seed = await openImageStore(join(tmp, "seed"));
    const desc = await writeTestImage(seed.store, { layers: 2 });
    const r = openRegistry();
    await r.push(seed.store, desc, parseReference(`${open.host}/cli/app:1`));
    await r.close();

    const root = join(tmp, "root");
    const pulled = tsbuild(["pull", `${open.host}/cli/app:1`, "--root", root]);
    expect(pulled.stderr).toContain("Status: Downloaded newer image");
    expect(pulled.status).toBe(0);
    expect(pulled.stdout.trim()).toBe(`${open.host}/cli/app:1`);
    const images: ImageStore = await openImageStore(root);
    expect((await images.getImage(`${open.host}/cli/app:1`)).target.digest).toBe(desc.digest);

    const again = tsbuild(["pull", `${open.host}/cli/app:1`, "--root", root]);
    expect(again.stderr).toContain("Image is up to date");

    const pushed = tsbuild(["push", `${open.host}/cli/app:1`, `${open.host}/cli/copy:2`, "--root", root]);
    expect(pushed.status).toBe(0);
    expect(pushed.stdout.trim()).toBe(desc.digest);
    expect(pushed.stderr).toContain("Mounted");
    // The command ends promptly: keep-alive connections are closed, nothing lingers.
    expect(pushed.ms).toBeLessThan(5000);

    // --insecure-registry takes one host per use and leaves the positionals that follow it alone.
    const flagFirst = tsbuild(["push", "--insecure-registry", open.host, "--insecure-registry", "other.example:5000", `${open.host}/cli/app:1`, `${open.host}/cli/copy:3`, "--root", root]);
    expect(flagFirst.stderr).not.toContain("Not enough");
    expect(flagFirst.status).toBe(0);
    const pullFlagFirst = tsbuild(["pull", "--insecure-registry", open.host, `${open.host}/cli/copy:3`, "--root", root]);
    expect(pullFlagFirst.status).toBe(0);
  });

  it("reports unknown images and bad references with exit code 1 and a hint", () => {
    const bad = tsbuild(["pull", "Bad/Name", "--root", join(tmp, "r2")]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("must be lowercase");
    const missing = tsbuild(["pull", `${open.host}/cli/none:1`, "--root", join(tmp, "r2")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/error: .*cli\/none:1.*404/);
    expect(missing.stderr).toContain("hint:");
  });
});

describe("tsbuild login / logout", () => {
  it("verifies, stores (0600) and removes credentials; refused passwords are never printed", async () => {
    const wrong = tsbuild(["login", basic.host, "-u", "cli", "--password-stdin"], {}, `${SECRET}-nope\n`);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("UNAUTHORIZED");
    expect(`${wrong.stdout}${wrong.stderr}`).not.toContain(SECRET);
    expect(existsSync(join(tmp, "docker", "config.json"))).toBe(false);

    const ok = tsbuild(["login", basic.host, "-u", "cli", "--password-stdin"], {}, `${SECRET}\n`);
    expect(ok.stdout).toContain("Login Succeeded");
    expect(ok.status).toBe(0);
    const file = join(tmp, "docker", "config.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(file, "utf8")) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths[basic.host]!.auth, "base64").toString()).toBe(`cli:${SECRET}`);
    expect(`${ok.stdout}${ok.stderr}`).not.toContain(SECRET);

    // The stored credentials are used by push.
    const root = join(tmp, "root-basic");
    const images = await openImageStore(root);
    const desc = await writeTestImage(images.store, { layers: 1 });
    await images.putImage(`${basic.host}/team/app:1`, desc);
    const pushed = tsbuild(["push", `${basic.host}/team/app:1`, "--root", root]);
    expect(pushed.stderr).not.toContain("error");
    expect(pushed.status).toBe(0);

    expect(tsbuild(["logout", basic.host]).stdout).toContain(`Removing login credentials for ${basic.host}`);
    expect(tsbuild(["logout", basic.host]).stdout).toContain(`Not logged in to ${basic.host}`);
    const denied = tsbuild(["push", `${basic.host}/team/app:1`, "--root", root]);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain(`tsbuild login ${basic.host}`);
  });
});
