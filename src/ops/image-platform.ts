/**
 * Can a RUN step execute here? A stage's platform is that of the image its root filesystem descends from (found
 * by walking the graph: exec rootfs, file base, first merge input, down to the image source). A foreign platform
 * runs only natively (amd64 also runs 386, arm64 also runs arm) or through a binfmt_misc emulator registered with
 * the F flag (usable inside a sandbox). There is no emulation otherwise, so such a RUN fails up front with a clear
 * error instead of an "exec format error" (or worse, a binary that happens to run but contradicts the metadata).
 */
import { readFileSync } from "node:fs";
import type { ExecMount, GraphPlatform, Vertex } from "../graph/index.js";
import { formatPlatform, hostPlatform } from "../registry/index.js";
import { OpsError } from "./errors.js";

/** Architectures a host runs without emulation. */
const NATIVE: Readonly<Record<string, readonly string[]>> = { amd64: ["amd64", "386"], arm64: ["arm64", "arm"] };

/** binfmt_misc handler names (as qemu-user-static/binfmt-support register them) per OCI architecture. */
const QEMU: Readonly<Record<string, string>> = {
  amd64: "x86_64", "386": "i386", arm64: "aarch64", arm: "arm", ppc64le: "ppc64le", s390x: "s390x",
  riscv64: "riscv64", mips64le: "mips64el", mips64: "mips64", loong64: "loongarch64",
};

/** The platform of the image the filesystem of `vertex` descends from, or undefined (scratch, local content). */
export function rootfsPlatform(vertex: Vertex): GraphPlatform | undefined {
  let v: Vertex | undefined = vertex;
  for (let guard = 0; v && guard < 100_000; guard++) {
    const op: Vertex["op"] = v.op;
    let input: number | null | undefined;
    switch (op.kind) {
      case "source":
        return op.source.type === "image" ? op.source.platform : undefined;
      case "exec": {
        const root: ExecMount | undefined = op.mounts[0];
        input = root?.type === "bind" ? root.input : null;
        break;
      }
      case "file":
        input = op.base;
        break;
      case "merge":
        input = op.inputs[0];
        break;
    }
    v = input === null || input === undefined ? undefined : v.inputs[input]?.vertex;
  }
  return undefined;
}

/** Where binfmt_misc handlers are listed (a parameter for tests). */
export interface EmulationProbe {
  /** Contents of `/proc/sys/fs/binfmt_misc/<name>`, or undefined when absent. */
  readHandler(name: string): string | undefined;
}

const procProbe: EmulationProbe = {
  readHandler(name) {
    try {
      return readFileSync(`/proc/sys/fs/binfmt_misc/${name}`, "utf8");
    } catch {
      return undefined;
    }
  },
};

/** True when this host can execute binaries of `p`: natively, or through an enabled, fix-binary (F) qemu handler. */
export function canRunPlatform(p: GraphPlatform, host: GraphPlatform = hostPlatform(), probe: EmulationProbe = procProbe): boolean {
  if (p.os !== host.os) return false;
  if (p.architecture === host.architecture || (NATIVE[host.architecture] ?? []).includes(p.architecture)) return true;
  const q = QEMU[p.architecture];
  if (!q) return false;
  const h = probe.readHandler(`qemu-${q}`);
  return h !== undefined && /^enabled$/m.test(h) && /^flags:.*F/m.test(h);
}

/**
 * Throw `TSB_OPS_PLATFORM` when the RUN of `vertex` would execute binaries of a platform this host cannot run.
 * @param host the host platform (tests pass another one)
 */
export function assertRunnable(vertex: Vertex, host: GraphPlatform = hostPlatform(), probe: EmulationProbe = procProbe): void {
  const p = rootfsPlatform(vertex);
  if (!p || canRunPlatform(p, host, probe)) return;
  const q = QEMU[p.architecture];
  throw new OpsError(
    "TSB_OPS_PLATFORM",
    `cannot run a ${formatPlatform(p)} process: the stage's base image is ${formatPlatform(p)} but this host is ${formatPlatform(host)}, and no emulation is available (binfmt_misc has no enabled qemu${q ? `-${q}` : ""} handler)`,
    {
      hint: p.os !== host.os
        ? `${p.os} binaries cannot run on ${host.os}; only COPY/ADD steps work in a ${p.os} stage`
        : `register qemu with binfmt_misc (Debian: qemu-user-static + binfmt-support) to emulate ${p.architecture}, build on a ${formatPlatform(p)} host, or keep ${formatPlatform(p)} stages COPY-only`,
    },
  );
}
