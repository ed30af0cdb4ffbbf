/**
 * Where registry credentials come from and go to: Docker's `$DOCKER_CONFIG/config.json` (`credHelpers`,
 * `credsStore`, `auths`) and Podman's `${XDG_RUNTIME_DIR}/containers/auth.json`. Credential helpers are run as
 * `docker-credential-<name> get|store|erase`. Nothing here logs or throws a secret.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rename, writeFile, chmod } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { RegistryError } from "./errors.js";

/** A username with a password, or an identity (OAuth refresh) token. */
export interface Credentials {
  readonly username: string;
  readonly password?: string;
  readonly identityToken?: string;
}

/** Anything that can look up credentials for a registry host. */
export interface CredentialSource {
  get(registry: string): Promise<Credentials | undefined>;
}

/** Environment the config files are located from. */
export interface CredentialEnv {
  readonly DOCKER_CONFIG?: string | undefined;
  readonly XDG_RUNTIME_DIR?: string | undefined;
  readonly HOME?: string | undefined;
  readonly PATH?: string | undefined;
}

/** Docker Hub's key in config.json. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", DOCKER_HUB_KEY]);

/** `https://host/v1/` → `host`, as Docker's ConvertToHostname. */
export function hostOfKey(key: string): string {
  let k = key.replace(/^https?:\/\//, "");
  const slash = k.indexOf("/");
  if (slash >= 0) k = k.slice(0, slash);
  return k;
}

function isHub(host: string): boolean {
  return HUB_ALIASES.has(host);
}

/** The key `docker login` writes for a registry host. */
export function configKey(registry: string): string {
  return isHub(registry) ? DOCKER_HUB_KEY : registry;
}

/** Path of Docker's config.json. */
export function dockerConfigPath(env: CredentialEnv): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker"), "config.json");
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}
interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

async function readConfig(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RegistryError("CREDENTIALS", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`, { hint: `check the permissions of ${path}` });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as ConfigFile) : {};
  } catch {
    throw new RegistryError("CREDENTIALS", `${path} is not valid JSON`, { hint: `fix or remove ${path}, then run 'tsbuild login' again` });
  }
}

function fromEntry(registry: string, entries: Record<string, AuthEntry> | undefined): Credentials | undefined {
  if (!entries) return undefined;
  for (const [key, e] of Object.entries(entries)) {
    const host = hostOfKey(key);
    if (!(host === registry || (isHub(registry) && isHub(host)) || (isHub(registry) && isHub(key)))) continue;
    let username = e.username ?? "";
    let password = e.password;
    if (e.auth) {
      const decoded = Buffer.from(e.auth, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      if (i < 0) continue;
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
    if (e.identitytoken) return { username, identityToken: e.identitytoken };
    if (password !== undefined) return { username, password };
  }
  return undefined;
}

/** Run `docker-credential-<helper> <action>` with `input` on stdin; resolves stdout, or rejects without output. */
function runHelper(helper: string, action: "get" | "store" | "erase", input: string, env: CredentialEnv): Promise<{ code: number; stdout: string }> {
  const bin = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [action], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...(env.PATH ? { PATH: env.PATH } : {}) } });
    // Our own timer (spawn's `timeout` keeps a timer alive when the binary does not exist).
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    timer.unref();
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.resume();
    child.on("error", (err) => {
      clearTimeout(timer);
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      reject(new RegistryError("CREDENTIALS", missing ? `credential helper ${bin} is not installed` : `credential helper ${bin} could not run`, {
        hint: missing ? `install ${bin} or remove it from ${"credsStore/credHelpers"} in your Docker config.json` : `check ${bin}`,
      }));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

function helperFor(config: ConfigFile | undefined, registry: string): string | undefined {
  if (!config) return undefined;
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    const host = hostOfKey(key);
    if (host === registry || (isHub(registry) && isHub(host))) return helper;
  }
  return config.credsStore || undefined;
}

async function helperGet(helper: string, registry: string, env: CredentialEnv): Promise<Credentials | undefined> {
  const { code, stdout } = await runHelper(helper, "get", configKey(registry), env);
  // Helpers exit non-zero with "credentials not found" when they have nothing: that is not an error.
  if (code !== 0) return undefined;
  let body: { Username?: unknown; Secret?: unknown };
  try {
    body = JSON.parse(stdout) as typeof body;
  } catch {
    throw new RegistryError("CREDENTIALS", `credential helper docker-credential-${helper} printed invalid output for ${registry}`, { hint: `check docker-credential-${helper}` });
  }
  if (typeof body.Secret !== "string" || body.Secret === "") return undefined;
  const username = typeof body.Username === "string" ? body.Username : "";
  return username === "<token>" ? { username, identityToken: body.Secret } : { username, password: body.Secret };
}

/** Reads Docker's config.json (helpers first, then `auths`), then Podman's auth.json. */
export class DockerCredentials implements CredentialSource {
  readonly #env: CredentialEnv;
  constructor(env: CredentialEnv = process.env) {
    this.#env = env;
  }

  async get(registry: string): Promise<Credentials | undefined> {
    const config = await readConfig(dockerConfigPath(this.#env));
    const helper = helperFor(config, registry);
    if (helper) {
      const c = await helperGet(helper, registry, this.#env);
      if (c) return c;
    }
    const c = fromEntry(registry, config?.auths);
    if (c) return c;
    if (this.#env.XDG_RUNTIME_DIR) {
      const podman = await readConfig(join(this.#env.XDG_RUNTIME_DIR, "containers", "auth.json"));
      return fromEntry(registry, podman?.auths);
    }
    return undefined;
  }
}

/** Fixed credentials (for `tsbuild login` verification and the API). */
export class StaticCredentials implements CredentialSource {
  readonly #map: ReadonlyMap<string, Credentials>;
  constructor(map: ReadonlyMap<string, Credentials>) {
    this.#map = map;
  }
  async get(registry: string): Promise<Credentials | undefined> {
    return this.#map.get(registry);
  }
}

async function writeConfigAtomically(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/**
 * Store credentials the way `docker login` does: in the configured credential helper if there is one, else
 * base64 in `auths` of config.json (mode 0600). Returns where they went.
 */
export async function storeCredentials(registry: string, creds: Credentials, env: CredentialEnv = process.env): Promise<string> {
  const path = dockerConfigPath(env);
  const config = (await readConfig(path)) ?? {};
  const helper = helperFor(config, registry);
  const key = configKey(registry);
  const secret = creds.identityToken ?? creds.password ?? "";
  if (helper) {
    const input = JSON.stringify({ ServerURL: key, Username: creds.identityToken ? "<token>" : creds.username, Secret: secret });
    const { code } = await runHelper(helper, "store", input, env);
    if (code !== 0) throw new RegistryError("CREDENTIALS", `credential helper docker-credential-${helper} failed to store credentials for ${registry}`, { hint: `check docker-credential-${helper}` });
    const auths = { ...(config.auths ?? {}) };
    auths[key] = {};
    await writeConfigAtomically(path, { ...config, auths });
    return `docker-credential-${helper}`;
  }
  const auths = { ...(config.auths ?? {}) };
  auths[key] = creds.identityToken
    ? { auth: Buffer.from(`${creds.username}:`).toString("base64"), identitytoken: creds.identityToken }
    : { auth: Buffer.from(`${creds.username}:${creds.password ?? ""}`).toString("base64") };
  await writeConfigAtomically(path, { ...config, auths });
  return path;
}

/** Remove stored credentials for `registry` (helper and config.json). Returns false if there were none. */
export async function eraseCredentials(registry: string, env: CredentialEnv = process.env): Promise<boolean> {
  const path = dockerConfigPath(env);
  const config = await readConfig(path);
  if (!config) return false;
  let found = false;
  const helper = helperFor(config, registry);
  if (helper) found = (await runHelper(helper, "erase", configKey(registry), env)).code === 0;
  const auths = { ...(config.auths ?? {}) };
  for (const key of Object.keys(auths)) {
    const host = hostOfKey(key);
    if (host === registry || (isHub(registry) && isHub(host))) {
      delete auths[key];
      found = true;
    }
  }
  if (found) await writeConfigAtomically(path, { ...config, auths });
  return found;
}
