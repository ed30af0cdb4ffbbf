/**
 * Platforms: the host's OCI platform (Node arch names mapped to OCI's), `os/arch[/variant]` parsing, and choosing
 * the best manifest for a platform from an index.
 */
import type { Descriptor, Platform } from "../image/index.js";
import { UsageError } from "../errors.js";

const NODE_TO_OCI_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  ia32: "386",
  arm64: "arm64",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
};

/** The OCI platform of a Node process (`process.platform`/`process.arch`), e.g. linux/amd64 or linux/arm/v7. */
export function hostPlatform(nodePlatform: string = process.platform, nodeArch: string = process.arch, armVersion?: string): Platform {
  const os = nodePlatform === "win32" ? "windows" : nodePlatform;
  const architecture = NODE_TO_OCI_ARCH[nodeArch] ?? nodeArch;
  if (architecture === "arm") {
    const v = armVersion ?? String((process.config.variables as Record<string, unknown>).arm_version ?? "7");
    return { os, architecture, variant: `v${v}` };
  }
  return { os, architecture };
}

/** Parse `os/arch[/variant]` (as `--platform`); `arch` alone means linux. Normalizes common aliases. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().toLowerCase().split("/");
  if (parts.some((p) => p === "") || parts.length > 3) {
    throw new UsageError(`invalid platform ${JSON.stringify(spec)}: expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm/v7`);
  }
  const [a, b, c] = parts.length === 1 ? ["linux", parts[0]!, undefined] : [parts[0]!, parts[1]!, parts[2]];
  return normalizePlatform({ os: a, architecture: b!, ...(c !== undefined ? { variant: c } : {}) });
}

/** Apply containerd's normalization: x86_64 → amd64, aarch64 → arm64 (variant v8 dropped), armhf → arm/v7. */
export function normalizePlatform(p: Platform): Platform {
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === "x86_64" || architecture === "x86-64") architecture = "amd64";
  else if (architecture === "i386") architecture = "386";
  else if (architecture === "aarch64" || architecture === "arm64") {
    architecture = "arm64";
    if (variant === "8" || variant === "v8") variant = undefined;
  } else if (architecture === "armhf") {
    architecture = "arm";
    variant = "v7";
  } else if (architecture === "armel") {
    architecture = "arm";
    variant = "v6";
  } else if (architecture === "arm" && variant && /^\d$/.test(variant)) variant = `v${variant}`;
  const out: Platform = { os: p.os.toLowerCase(), architecture, ...(variant ? { variant } : {}) };
  return out;
}

/** `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** True if `candidate` can run where `want` is asked for (same os/arch; variant equal, or ARM fallbacks). */
function variantRank(want: Platform, candidate: Platform): number {
  const w = normalizePlatform(want);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return -1;
  if (w.variant === c.variant) return 100;
  if (w.variant === undefined) return c.architecture === "arm" ? (c.variant === "v7" ? 90 : 50) : 80;
  if (c.variant === undefined) return 70;
  // An ARM v7 host runs v6 and v5 images: prefer the closest lower variant.
  const wn = Number(w.variant.replace(/^v/, ""));
  const cn = Number(c.variant.replace(/^v/, ""));
  if (w.architecture === "arm" && Number.isFinite(wn) && Number.isFinite(cn) && cn < wn) return 60 - (wn - cn);
  return -1;
}

/**
 * The manifest of `manifests` (an index's entries) that best matches `want`, or undefined. Entries without a
 * platform are skipped (attestations, artifacts).
 */
export function selectManifest(manifests: readonly Descriptor[], want: Platform): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestRank = -1;
  for (const d of manifests) {
    if (!d.platform || d.platform.os === "unknown") continue;
    const r = variantRank(want, d.platform);
    if (r > bestRank) {
      best = d;
      bestRank = r;
    }
  }
  return best;
}
