/**
 * Errors of the registry room. Registry error bodies (`{"errors":[{code,message,detail}]}`) become RegistryError
 * with code `TSB_REGISTRY_<CODE>` and the HTTP status; messages name the image, the registry and what it answered,
 * and the hint says what to do. Messages never contain credentials: callers pass text through `redact()`.
 */
import { TsbuildError, type TsbuildErrorOptions } from "../errors.js";

/** Codes from the distribution-spec error table, plus tsbuild's own transport codes. */
export type RegistryErrorKind =
  | "UNAUTHORIZED"
  | "DENIED"
  | "NAME_UNKNOWN"
  | "NAME_INVALID"
  | "MANIFEST_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "SIZE_INVALID"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  // tsbuild's own:
  | "UNREACHABLE"
  | "TIMEOUT"
  | "SERVER_ERROR"
  | "PROTOCOL"
  | "DIGEST_MISMATCH"
  | "PLATFORM_NOT_FOUND"
  | "CREDENTIALS";

const SPEC_CODES: ReadonlySet<string> = new Set([
  "UNAUTHORIZED", "DENIED", "NAME_UNKNOWN", "NAME_INVALID", "MANIFEST_UNKNOWN", "MANIFEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
  "SIZE_INVALID", "UNSUPPORTED", "TOOMANYREQUESTS",
]);

/** Extra fields of a RegistryError. */
export interface RegistryErrorOptions extends TsbuildErrorOptions {
  /** HTTP status the registry answered, if any. */
  readonly status?: number;
  /** Registry host (`localhost:5000`). */
  readonly registry?: string;
}

/** Anything a registry (or the way to it) refused. Match on `code` (`TSB_REGISTRY_<KIND>`). */
export class RegistryError extends TsbuildError {
  readonly kind: RegistryErrorKind;
  readonly status: number | undefined;
  readonly registry: string | undefined;
  constructor(kind: RegistryErrorKind, message: string, options: RegistryErrorOptions = {}) {
    super(`TSB_REGISTRY_${kind}`, message, options);
    this.name = "RegistryError";
    this.kind = kind;
    this.status = options.status;
    this.registry = options.registry;
  }
}

/** What the request was about, for messages. */
export interface ErrorContext {
  /** Registry host. */
  readonly registry: string;
  /** What was being done, e.g. `pulling localhost:5000/app:v1` or `uploading blob sha256:… to …`. */
  readonly action: string;
  /** True for push requests (changes the hint for 401/403). */
  readonly push?: boolean;
}

interface SpecError {
  readonly code?: unknown;
  readonly message?: unknown;
}

/** Parse a registry error body; returns the first error's code and message, or undefined. */
export function parseErrorBody(text: string): { code: string; message: string } | undefined {
  try {
    const body = JSON.parse(text) as { errors?: readonly SpecError[] };
    const first = body.errors?.[0];
    if (first && typeof first.code === "string") {
      return { code: first.code, message: typeof first.message === "string" ? first.message : "" };
    }
  } catch {
    // not JSON: fall through
  }
  return undefined;
}

function kindForStatus(status: number): RegistryErrorKind {
  if (status === 401) return "UNAUTHORIZED";
  if (status === 403) return "DENIED";
  if (status === 429) return "TOOMANYREQUESTS";
  if (status >= 500) return "SERVER_ERROR";
  return "PROTOCOL";
}

function hintFor(kind: RegistryErrorKind, ctx: ErrorContext): string {
  switch (kind) {
    case "UNAUTHORIZED":
      return ctx.push
        ? `run 'tsbuild login ${ctx.registry}' with an account that may push to this repository`
        : `check the image name, or run 'tsbuild login ${ctx.registry}' if the repository is private`;
    case "DENIED":
      return `your credentials for ${ctx.registry} lack permission; run 'tsbuild login ${ctx.registry}' with another account`;
    case "NAME_UNKNOWN":
    case "MANIFEST_UNKNOWN":
      return "check the repository name and tag (and that it was pushed), or log in if it is private";
    case "NAME_INVALID":
      return "repository names are lowercase letters, digits and separators ('.', '_', '__', '-') joined by '/'";
    case "TOOMANYREQUESTS":
      return `${ctx.registry} rate-limits you; wait and retry, or log in to get a higher limit`;
    case "SERVER_ERROR":
      return `${ctx.registry} is failing; retry later`;
    case "UNREACHABLE":
      return `check that ${ctx.registry} is up and reachable; for a plain-HTTP registry pass --insecure-registry ${ctx.registry}`;
    case "TIMEOUT":
      return `${ctx.registry} did not answer in time; check your network and retry`;
    case "BLOB_UNKNOWN":
    case "MANIFEST_BLOB_UNKNOWN":
      return "the registry is missing content the image refers to; push the image again";
    case "DIGEST_MISMATCH":
    case "DIGEST_INVALID":
    case "SIZE_INVALID":
      return "the content changed in transit or in the registry; retry, and report it if it persists";
    default:
      return `retry; if it persists, check what ${ctx.registry} supports`;
  }
}

/** Map an HTTP error response to a RegistryError. `bodyText` is the response body (already redacted). */
export function errorFromResponse(status: number, bodyText: string, ctx: ErrorContext): RegistryError {
  const parsed = parseErrorBody(bodyText);
  const kind: RegistryErrorKind = parsed && SPEC_CODES.has(parsed.code) ? (parsed.code as RegistryErrorKind) : kindForStatus(status);
  const said = parsed
    ? `${parsed.code}${parsed.message ? `: ${parsed.message}` : ""}`
    : bodyText.trim()
      ? truncate(bodyText.trim().replace(/\s+/g, " "), 200)
      : "no error body";
  return new RegistryError(kind, `${ctx.action}: ${ctx.registry} answered ${status} (${said})`, {
    status,
    registry: ctx.registry,
    hint: hintFor(kind, ctx),
  });
}

/** Map a connection-level failure (after retries) to a RegistryError, never leaking the raw library error text. */
export function errorFromNetwork(cause: unknown, ctx: ErrorContext): RegistryError {
  if (cause instanceof RegistryError) return cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const codeStr = typeof code === "string" ? code : "unknown error";
  const timeout = /TIMEOUT/i.test(codeStr) || codeStr === "ETIMEDOUT";
  const kind: RegistryErrorKind = timeout ? "TIMEOUT" : "UNREACHABLE";
  const what = timeout ? "timed out" : `connection failed (${codeStr})`;
  return new RegistryError(kind, `${ctx.action}: ${ctx.registry} ${what}`, {
    registry: ctx.registry,
    hint: hintFor(kind, ctx),
    cause,
  });
}

/** A new RegistryError of `kind` with the standard hint. */
export function registryError(kind: RegistryErrorKind, message: string, ctx: ErrorContext, status?: number): RegistryError {
  return new RegistryError(kind, message, {
    registry: ctx.registry,
    hint: hintFor(kind, ctx),
    ...(status !== undefined ? { status } : {}),
  });
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`;
}

/** Replace every occurrence of each secret in `text` with `***`. Secrets shorter than 4 characters are ignored. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("***");
  return out;
}
