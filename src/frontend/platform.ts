import type { GraphPlatform } from "../graph/index.js";
import { FrontendError } from "./errors.js";

const NODE_ARCH: Readonly<Record<string, GraphPlatform>> = {
  x64: { os: "linux", architecture: "amd64" },
  arm64: { os: "linux", architecture: "arm64" },
  arm: { os: "linux", architecture: "arm", variant: "v7" },
  ia32: { os: "linux", architecture: "386" },
  ppc64: { os: "linux", architecture: "ppc64le" },
  s390x: { os: "linux", architecture: "s390x" },
  riscv64: { os: "linux", architecture: "riscv64" },
};

/** linux on the architecture Node runs on (the default build and target platform). */
export function hostPlatform(): GraphPlatform {
  return NODE_ARCH[process.arch] ?? { os: "linux", architecture: process.arch };
}

const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", armel: "arm", i386: "386" };

/** Parse `os[/arch[/variant]]` (containerd's normalization for the common aliases). */
export function parsePlatform(value: string): GraphPlatform {
  const parts = value.trim().toLowerCase().split("/");
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => p === "" || !/^[a-z0-9_.-]+$/.test(p))) {
    throw new FrontendError("TSB_FRONTEND_BAD_PLATFORM", `invalid platform ${JSON.stringify(value)}`, {
      hint: "use os/arch[/variant], e.g. linux/amd64 or linux/arm64",
    });
  }
  const [os, archRaw, variantRaw] = parts as [string, string | undefined, string | undefined];
  if (archRaw === undefined) return os === "linux" ? { ...hostPlatform(), os } : { os, architecture: hostPlatform().architecture };
  let architecture = ARCH_ALIASES[archRaw] ?? archRaw;
  let variant = variantRaw;
  if (archRaw === "armhf") variant ??= "v7";
  if (archRaw === "armel") variant ??= "v6";
  if (architecture === "arm64" && variant === "v8") variant = undefined;
  if (architecture === "arm" && variant === undefined) variant = "v7";
  if (architecture === "amd64" && variant === "v1") variant = undefined;
  if (archRaw === "aarch64") architecture = "arm64";
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(p: GraphPlatform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** The automatic platform ARGs (TARGETPLATFORM, TARGETOS, …, BUILDVARIANT). */
export function platformArgs(target: GraphPlatform, build: GraphPlatform): [string, string][] {
  return [
    ["BUILDPLATFORM", formatPlatform(build)],
    ["BUILDOS", build.os],
    ["BUILDARCH", build.architecture],
    ["BUILDVARIANT", build.variant ?? ""],
    ["TARGETPLATFORM", formatPlatform(target)],
    ["TARGETOS", target.os],
    ["TARGETARCH", target.architecture],
    ["TARGETVARIANT", target.variant ?? ""],
  ];
}
