/**
 * Image references (`[domain/]path[:tag][@digest]`) with Docker's normalization rules:
 * `busybox` → `docker.io/library/busybox:latest`, `index.docker.io` → `docker.io`, and a first component counts as a
 * registry host only if it contains `.` or `:`, is `localhost`, or has an uppercase letter. Path components and tags
 * follow the OCI distribution-spec grammar. Pure: no I/O.
 */
import { TsbuildError } from "../errors.js";
import type { Digest } from "../util/digest.js";

/** The default registry host for names without one. */
export const DEFAULT_DOMAIN = "docker.io";
/** The namespace Docker prepends to single-component names on Docker Hub. */
export const OFFICIAL_REPO_PREFIX = "library/";
/** The tag assumed when a reference has neither tag nor digest. */
export const DEFAULT_TAG = "latest";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const NAME_TOTAL_MAX = 255;

/** A parsed, normalized image reference. Plain readonly data. */
export interface ImageReference {
  /** Registry host, possibly with `:port` (`docker.io`, `localhost:5000`, `[::1]:5000`). */
  readonly domain: string;
  /** Repository path inside the registry (`library/busybox`, `ns/app`). */
  readonly path: string;
  /** Tag, if any. Set to `latest` by `parseReference` when neither a tag nor a digest is given (unless disabled). */
  readonly tag?: string;
  /** Digest, if the reference pins one. */
  readonly digest?: Digest;
  /** `domain/path`: the fully qualified repository name. */
  readonly name: string;
  /** The short name Docker shows (`busybox`, `user/app`, `localhost:5000/app`). */
  readonly familiarName: string;
  /** The full normalized string: `docker.io/library/busybox:latest[@sha256:…]`. */
  readonly full: string;
  /** The familiar form of the whole reference: `busybox:latest`. */
  readonly familiar: string;
}

/** Options of {@link parseReference}. */
export interface ParseReferenceOptions {
  /**
   * Add the `latest` tag when the reference has neither tag nor digest.
   * @default true
   */
  readonly defaultTag?: boolean;
}

/** A reference string that does not parse. Code `TSB_REF_INVALID`; the message says what is wrong. */
export class InvalidReferenceError extends TsbuildError {
  /** The reference as the user wrote it. */
  readonly reference: string;
  constructor(reference: string, problem: string, hint?: string) {
    super("TSB_REF_INVALID", `invalid image reference ${JSON.stringify(reference)}: ${problem}`, {
      hint: hint ?? "use the form [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST], e.g. docker.io/library/busybox:1.36",
    });
    this.name = "InvalidReferenceError";
    this.reference = reference;
  }
}

const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DOMAIN_COMPONENT_RE = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const IPV6_RE = /^\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\]$/;
const PORT_RE = /^[0-9]+$/;
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const HEX64_RE = /^[a-f0-9]{64}$/;

/** True if `host` is a syntactically valid registry host (`name`, `a.b.c`, `[::1]`, each with an optional `:port`). */
export function isValidDomain(host: string): boolean {
  let h = host;
  let port: string | undefined;
  if (h.startsWith("[")) {
    const close = h.indexOf("]");
    if (close < 0) return false;
    port = h.slice(close + 1);
    h = h.slice(0, close + 1);
    if (port !== "") {
      if (!port.startsWith(":")) return false;
      port = port.slice(1);
    } else port = undefined;
    if (!IPV6_RE.test(h)) return false;
  } else {
    const colon = h.indexOf(":");
    if (colon >= 0) {
      port = h.slice(colon + 1);
      h = h.slice(0, colon);
    }
    if (h === "" || !h.split(".").every((c) => DOMAIN_COMPONENT_RE.test(c))) return false;
  }
  return port === undefined || (PORT_RE.test(port) && Number(port) <= 65535);
}

/** Split `name` (no tag/digest) into domain and remainder the way Docker's splitDockerDomain does. */
function splitDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf("/");
  const first = i < 0 ? "" : name.slice(0, i);
  const isHost = i >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let domain = isHost ? first : DEFAULT_DOMAIN;
  let remainder = isHost ? name.slice(i + 1) : name;
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Parse and normalize an image reference.
 * @example parseReference("busybox").full === "docker.io/library/busybox:latest"
 * @example parseReference("localhost:5000/app:v1").familiarName === "localhost:5000/app"
 * @throws InvalidReferenceError (`TSB_REF_INVALID`) naming what is wrong.
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  const s = input;
  const fail = (problem: string, hint?: string): never => {
    throw new InvalidReferenceError(input, problem, hint);
  };
  if (s === "") fail("it is empty");
  if (/\s/.test(s)) fail("it contains whitespace");

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (digest.includes("@")) fail("it contains more than one '@'");
    if (!DIGEST_RE.test(digest)) fail(`digest ${JSON.stringify(digest)} is not of the form ALGORITHM:HEX`);
    if (!SHA256_RE.test(digest)) {
      fail(`digest ${JSON.stringify(digest)} is not a sha256 digest (sha256: followed by 64 lowercase hex digits)`);
    }
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) {
      fail(
        tag === ""
          ? "the tag after ':' is empty"
          : `tag ${JSON.stringify(tag)} is invalid (up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)`,
      );
    }
  }

  if (rest === "") fail("the repository name is empty");
  if (HEX64_RE.test(rest) && tag === undefined && digest === undefined) {
    fail("a 64-character hexadecimal string is an image ID, not a repository name");
  }
  const { domain, remainder } = splitDomain(rest);
  if (!isValidDomain(domain)) fail(`registry host ${JSON.stringify(domain)} is invalid`);
  if (remainder === "" || remainder.startsWith("/") || remainder.endsWith("/") || remainder.includes("//")) {
    fail("the repository path has an empty component");
  }
  if (remainder.toLowerCase() !== remainder) {
    fail(`repository name ${JSON.stringify(remainder)} must be lowercase`, "use lowercase letters in the repository name (only the registry host may contain uppercase)");
  }
  for (const component of remainder.split("/")) {
    if (!PATH_COMPONENT_RE.test(component)) {
      fail(
        `repository path component ${JSON.stringify(component)} is invalid (lowercase letters and digits, separated by '.', '_', '__' or '-')`,
      );
    }
  }
  const name = `${domain}/${remainder}`;
  if (name.length > NAME_TOTAL_MAX) fail(`the repository name is longer than ${NAME_TOTAL_MAX} characters`);

  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = DEFAULT_TAG;
  return makeReference(domain, remainder, tag, digest as Digest | undefined);
}

/** Build the derived fields of a reference from its parts (assumed valid). */
function makeReference(domain: string, path: string, tag: string | undefined, digest: Digest | undefined): ImageReference {
  const name = `${domain}/${path}`;
  let familiarName = name;
  if (domain === DEFAULT_DOMAIN) {
    familiarName = path.startsWith(OFFICIAL_REPO_PREFIX) && path.split("/").length === 2 ? path.slice(OFFICIAL_REPO_PREFIX.length) : path;
  }
  const suffix = `${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`;
  const ref: ImageReference = {
    domain,
    path,
    name,
    familiarName,
    full: name + suffix,
    familiar: familiarName + suffix,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
  return Object.freeze(ref);
}

/** The same repository with another tag (any digest is dropped). Throws InvalidReferenceError on a bad tag. */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!TAG_RE.test(tag)) throw new InvalidReferenceError(`${ref.name}:${tag}`, `tag ${JSON.stringify(tag)} is invalid`);
  return makeReference(ref.domain, ref.path, tag, undefined);
}

/** The same repository (and tag) pinned to `digest`. */
export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  if (!SHA256_RE.test(digest)) throw new InvalidReferenceError(`${ref.name}@${digest}`, `digest ${JSON.stringify(digest)} is invalid`);
  return makeReference(ref.domain, ref.path, ref.tag, digest);
}

/** True if `s` is a valid tag by the distribution-spec grammar. */
export function isValidTag(s: string): boolean {
  return TAG_RE.test(s);
}
