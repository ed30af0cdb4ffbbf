/**
 * The digest input of a vertex, encoded in one pass: the same bytes as `canonicalJson` (util/canonical-json.ts),
 * without its per-level arrays (`map`/`filter`/`join`), and freezing every object it walks. Compiling a
 * 10,000-step Dockerfile digests every vertex, so this is a hot path; the result must stay byte-identical
 * (vertex digests are pinned by tests and persisted in cache records).
 */

/** JSON string literals of object keys (op keys are a small fixed vocabulary). */
const quotedKeys = new Map<string, string>();

function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 1024) quotedKeys.set(k, q);
  }
  return q;
}

/** Sorts a few keys in place by UTF-16 code units (what `Array.prototype.sort` does without a comparator). */
function sortKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
}

/**
 * Canonical JSON of `value` (object keys sorted, `undefined` members dropped, `undefined` array items as null),
 * freezing each array and object on the way when `freeze` is set. `skipKey` leaves one top-level member out of
 * the encoding (neither encoded nor frozen).
 * @throws TypeError for non-finite numbers and values JSON cannot encode, as canonicalJson does
 */
export function encodeCanonical(value: unknown, freeze: boolean, skipKey?: string): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let s = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) s += ",";
          const v: unknown = value[i];
          // A hole encodes as nothing, like canonicalJson's `map` + `join`.
          s += v !== undefined ? encodeCanonical(v, freeze) : i in value ? "null" : "";
        }
        if (freeze) Object.freeze(value);
        return `${s}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      sortKeys(keys);
      let s = "{";
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined || k === skipKey) continue;
        s += first ? `${quoteKey(k)}:` : `,${quoteKey(k)}:`;
        s += encodeCanonical(v, freeze);
        first = false;
      }
      if (freeze) Object.freeze(obj);
      return `${s}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
  }
}

/** Freezes `value` and everything reachable from it (already frozen objects are not walked again). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    } else {
      const obj = value as Record<string, unknown>;
      for (const k in obj) if (Object.hasOwn(obj, k)) deepFreeze(obj[k]);
    }
  }
  return value;
}
