/**
 * Human-readable facts that ops put into `CacheMap.explain`, for `--explain`. Values that look like secrets (by the
 * variable name, as BuildKit's SecretsUsedInArgOrEnv check decides) are kept only as a short hash: a change is
 * still detected, the value is never stored or shown.
 */
import { sha256 } from "../util/digest.js";

/** Name parts that mark a variable as secret (BuildKit's secretsRegexp words). */
const SECRET_PARTS = new Set(["apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd", "secret", "token"]);
/** Name parts that make a secret-looking name public again (BuildKit's allow list). */
const PUBLIC_PARTS = new Set(["public"]);

/** Prefix of values kept only as a hash. */
export const HIDDEN_PREFIX = "hidden:";

/** Whether a variable name looks like it holds a secret. */
export function isSecretName(name: string): boolean {
  const parts = name.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  return parts.some((p) => SECRET_PARTS.has(p)) && !parts.some((p) => PUBLIC_PARTS.has(p));
}

/** `KEY=value` strings → `{KEY: value}`, secret-looking values replaced by `hidden:<hash prefix>`. */
export function explainEnv(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const eq = e.indexOf("=");
    const k = eq === -1 ? e : e.slice(0, eq);
    const v = eq === -1 ? "" : e.slice(eq + 1);
    out[k] = isSecretName(k) ? `${HIDDEN_PREFIX}${sha256(`tsbuild.explain.v1 ${k}=${v}`).slice(7, 23)}` : v;
  }
  return out;
}
