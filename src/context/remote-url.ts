/**
 * What the context argument of `tsbuild build` names, by `docker buildx build`'s rules: `-` is standard input; an
 * existing directory is a directory; an http(s) URL whose path ends in `.git`, a `git://` or `ssh://` URL, an
 * scp-like `user@host:path` and `github.com/…` are git repositories (BuildKit's ParseGitRef, `#ref:subdir`
 * fragment); any other http(s) URL is a remote tarball or Dockerfile. Pure: no I/O but one existence check.
 */
import { existsSync } from "node:fs";
import { posix } from "node:path";
import type { GitContextSpec } from "./git-context.js";

/** Where a build context comes from. */
export type ContextSource =
  | { readonly kind: "dir"; readonly dir: string }
  | { readonly kind: "stdin" }
  | { readonly kind: "http"; readonly url: string }
  | ({ readonly kind: "git" } & GitContextSpec);

const SCP_LIKE = /^[A-Za-z0-9_.+-]+@[A-Za-z0-9.-]+:(?!\/\/)/;

/** Classify the context argument (`exists` is injectable for tests). */
export function classifyContext(arg: string, exists: (p: string) => boolean = existsSync): ContextSource {
  if (arg === "-") return { kind: "stdin" };
  const lower = arg.toLowerCase();
  const isHttp = lower.startsWith("http://") || lower.startsWith("https://");
  if (!isHttp && exists(arg)) return { kind: "dir", dir: arg };
  if (isHttp) {
    let path = "";
    try {
      path = new URL(arg).pathname;
    } catch {
      return { kind: "http", url: arg };
    }
    return path.endsWith(".git") ? gitSpec(arg) : { kind: "http", url: arg };
  }
  if (/^(git|ssh):\/\//i.test(arg) || SCP_LIKE.test(arg)) return gitSpec(arg);
  if (arg.startsWith("github.com/")) return gitSpec(`https://${arg}`);
  return { kind: "dir", dir: arg };
}

/** Split `REMOTE#ref:subdir` (BuildKit's parseOpts: the subdir is cleaned and relative). */
function gitSpec(url: string): ContextSource {
  const hash = url.indexOf("#");
  const remote = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? "" : url.slice(hash + 1);
  if (fragment === "") return { kind: "git", remote };
  const colon = fragment.indexOf(":");
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? "" : posix.join("/", fragment.slice(colon + 1)).replace(/^\/+/, "");
  return { kind: "git", remote, ...(ref !== "" ? { ref } : {}), ...(subdir !== "" ? { subdir } : {}) };
}

/**
 * A URL fit to print: no user name or password, no query values (signed URLs carry their secret there).
 * Strings that do not parse as URLs lose anything between `//` and `@`.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.host) throw new Error("no host");
    const query = u.search ? `?${[...u.searchParams.keys()].map((k) => `${k}=…`).join("&")}` : "";
    return `${u.protocol}//${u.host}${u.pathname}${query}${u.hash}`;
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, "//");
  }
}
