// The three builders under test behind one shape:
//   { name, version, setup(bases), build({ctx, tag, noCache, rss}) → {ms, rssMb}, push(tag, ref) → {ms}, stop() }
// Every builder keeps its state under the bench's temp directory; base images come from the same rootfs tars
// (`bases`: [{tar, name}]), imported with each builder's own tool (tsbuild import, docker import, buildah add).
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { have, log, onCleanup, run, stopChild, waitFor } from "./util.mjs";

const repo = resolve(import.meta.dirname, "..", "..");

/** tsbuild through its CLI bundle (bin/tsbuild.js), with its own root. */
export function tsbuild(work) {
  const root = join(work, "tsbuild-root");
  const bin = join(work, "tsbuild", "bin", "tsbuild.js");
  const cli = (args, opts = {}) => run(process.execPath, [bin, ...args, "--root", root], opts);
  const rssFile = join(work, "tsbuild.rss");
  const sha = run("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, allowFail: true }).stdout.trim();
  return {
    name: "tsbuild",
    root,
    dist: join(work, "tsbuild", "dist"),
    version: `${JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version} (${sha}, node ${process.version})`,
    async setup(bases) {
      onCleanup(() => rmSync(root, { recursive: true, force: true }));
      await bundle(join(work, "tsbuild"));
      for (const b of bases) cli(["import", b.tar, b.name]);
    },
    build({ ctx, tag, noCache = false, output }) {
      const args = ["build", "-q", "--network", "host", "-t", tag, ...(noCache ? ["--no-cache"] : []), ...(output ? ["-o", output] : []), ctx];
      return cli(args, { rssFile });
    },
    push(tag, ref) {
      return cli(["push", "-q", tag, ref], { rssFile, env: { TSBUILD_INSECURE_REGISTRIES: ref.split("/")[0] } });
    },
    cli,
    async stop() {},
  };
}

/**
 * Bundle the working tree (scripts/bundle.mjs) and copy dist/ into DIR, so that nobody rebuilding dist/ during the
 * bench changes the code under test; node_modules and native/ are symlinked from the checkout.
 */
async function bundle(dir) {
  run(process.execPath, [join(repo, "scripts", "bundle.mjs")], { cwd: repo });
  cpSync(join(repo, "dist"), join(dir, "dist"), { recursive: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  writeFileSync(join(dir, "bin", "tsbuild.js"), 'import { main } from "../dist/cli.js";\nprocess.exitCode = await main(process.argv.slice(2));\n');
  for (const l of ["node_modules", "native"]) symlinkSync(join(repo, l), join(dir, l));
  run(process.execPath, [join(dir, "bin", "tsbuild.js"), "--help"]);
}

/** Docker's BuildKit through a private dockerd (Debian docker.io 20.10) started for the bench. */
export function buildkit(work) {
  if (!have("dockerd") || !have("/usr/bin/docker")) return missing("buildkit", "docker.io (dockerd and /usr/bin/docker)");
  const dir = join(work, "docker");
  const sock = join(dir, "sock");
  // The Debian 20.10 client: it drives the daemon's built-in BuildKit without the buildx plugin.
  const env = { DOCKER_HOST: `unix://${sock}`, DOCKER_BUILDKIT: "1", DOCKER_CONFIG: join(dir, "config") };
  const docker = (args, opts = {}) => run("/usr/bin/docker", args, { ...opts, env });
  let daemon;
  return {
    name: "buildkit",
    version: "",
    async setup(bases) {
      mkdirSync(dir, { recursive: true });
      const args = ["--iptables=false", "--bridge=none", "--data-root", join(dir, "data"), "-H", `unix://${sock}`, "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "pid")];
      daemon = spawn("dockerd", args, { stdio: ["ignore", "ignore", "ignore"] });
      onCleanup(() => rmSync(dir, { recursive: true, force: true }));
      onCleanup(() => stopChild(daemon));
      await waitFor(async () => docker(["version"], { allowFail: true }).status === 0, "dockerd");
      this.version = `dockerd ${docker(["version", "--format", "{{.Server.Version}}"]).stdout.trim()} (built-in BuildKit)`;
      for (const b of bases) docker(["import", b.tar, b.name]);
    },
    build({ ctx, tag, noCache = false }) {
      return docker(["build", "-q", "--network", "host", "-t", tag, ...(noCache ? ["--no-cache"] : []), ctx]);
    },
    save(tag, dest) {
      return docker(["save", "-o", dest, tag]);
    },
    async stop() {
      if (daemon) await stopChild(daemon);
    },
  };
}

/** Buildah 1.28 (runc, overlay storage, --layers) with a private storage root. */
export function buildah(work) {
  if (!have("buildah") || !have("runc")) return missing("buildah", "buildah (and runc)");
  const dir = join(work, "buildah");
  const store = ["--root", join(dir, "root"), "--runroot", join(dir, "run"), "--storage-driver", "overlay"];
  const env = { REGISTRY_AUTH_FILE: join(dir, "auth.json"), BUILDAH_ISOLATION: "oci" };
  const b = (args, opts = {}) => run("buildah", [...store, ...args], { ...opts, env });
  return {
    name: "buildah",
    version: "",
    async setup(bases) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(env.REGISTRY_AUTH_FILE, '{"auths":{}}\n');
      onCleanup(() => rmSync(dir, { recursive: true, force: true }));
      onCleanup(() => {
        b(["rm", "--all"], { allowFail: true });
        b(["rmi", "--all", "--force"], { allowFail: true });
        // Storage may keep overlay layer mounts: lazily unmount whatever is left under its directory.
        run("sh", ["-c", `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`], { allowFail: true });
      });
      this.version = b(["--version"]).stdout.trim();
      for (const base of bases) {
        const c = b(["from", "scratch"]).stdout.trim();
        b(["add", c, base.tar, "/"]);
        b(["commit", "-q", c, base.name]);
        b(["rm", c]);
      }
    },
    build({ ctx, tag, noCache = false }) {
      return b(["bud", "--runtime", "runc", "--layers", "--network", "host", "-q", "-t", tag, ...(noCache ? ["--no-cache"] : []), ctx]);
    },
    push(tag, ref) {
      return b(["push", "-q", "--tls-verify=false", tag, `docker://${ref}`]);
    },
    pushArchive(tag, dest, compression) {
      const c = compression === "none" ? ["--disable-compression"] : ["--compression-format", compression];
      return b(["push", "-q", ...c, tag, `oci-archive:${dest}`]);
    },
    async stop() {},
  };
}

function missing(name, pkg) {
  log(`\n!!!!!!!! bench: ${name} is NOT INSTALLED: its comparisons are skipped. Install it with: apt-get install ${pkg} !!!!!!!!\n`);
  return undefined;
}
