/**
 * A small registry token server for tests (distribution `auth/token.md`): issues ES256 JWTs signed by a key whose
 * self-signed certificate (made with `openssl` at start) the registry's `auth.token.rootcertbundle` trusts.
 * Anonymous callers get `pull`; users listed in `users` get what they ask for; bad credentials get 401.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { freePort, requireTool } from "./registry.js";

export interface TokenServerOptions {
  /** username → password of accounts that may push. */
  readonly users: Readonly<Record<string, string>>;
  /** Token lifetime in seconds. @default 300 */
  readonly expiresIn?: number;
  /** Repositories anonymous callers may not pull (everything else is public). */
  readonly privateRepos?: readonly string[];
}

/** One token request as seen by the server (for asserting scopes and reuse). */
export interface TokenRequest {
  readonly user: string | undefined;
  readonly scopes: readonly string[];
  readonly service: string | null;
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certFile: string;
  readonly requests: TokenRequest[];
  stop(): Promise<void>;
}

/** Start the token server on a free 127.0.0.1 port. */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  requireTool("openssl", "openssl");
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-token-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile,
    "-out", certFile, "-days", "2", "-subj", "/CN=tsbuild-test-token"], { stdio: "ignore" });
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString("base64");
  const service = "tsbuild-test-registry";
  const issuer = "tsbuild-test-issuer";
  const requests: TokenRequest[] = [];
  const port = await freePort();

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
      const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean);
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith("Basic ")) {
        const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
        if (opts.users[u!] === undefined || opts.users[u!] !== p.join(":")) {
          res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }] }));
          return;
        }
        user = u;
      }
      requests.push({ user, scopes, service: url.searchParams.get("service") });
      const access = scopes.flatMap((s) => {
        const [type, ...rest] = s.split(":");
        const actions = rest.pop()!.split(",");
        const name = rest.join(":");
        if (type !== "repository") return [];
        const allowed = user !== undefined ? actions : opts.privateRepos?.includes(name) ? [] : actions.filter((a) => a === "pull");
        return allowed.length ? [{ type, name, actions: allowed }] : [];
      });
      const now = Math.floor(Date.now() / 1000);
      const expiresIn = opts.expiresIn ?? 300;
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: "ES256", typ: "JWT", x5c: [certDer] })
        .setIssuer(issuer).setAudience(service).setSubject(user ?? "").setIssuedAt(now).setNotBefore(now - 10)
        .setExpirationTime(now + expiresIn).setJti(randomBytes(8).toString("hex"))
        .sign(key);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
