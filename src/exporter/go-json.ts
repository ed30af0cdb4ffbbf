/**
 * JSON bytes as Go's encoding/json writes them, so image configs and manifests hash like BuildKit's: the caller
 * controls key order (object insertion order), `<`, `>`, `&`, U+2028 and U+2029 are escaped as `\u003c` …, and
 * times are RFC 3339 with trailing fractional zeros trimmed (Go's RFC3339Nano).
 */

const GO_ESCAPES: Readonly<Record<string, string>> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/**
 * `json.Marshal` (indent 0) or `json.MarshalIndent(v, "", "  ")` (indent 2) of a plain value. The escaped characters
 * can only occur inside JSON strings, so replacing them in the serialized text is exact.
 */
export function goJson(value: unknown, indent: 0 | 2 = 0): string {
  const text = indent === 0 ? JSON.stringify(value) : JSON.stringify(value, null, indent);
  if (text === undefined) throw new TypeError("goJson: value is not serializable");
  return text.replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

/** A time as Go's `time.Time` marshals it in UTC: `2024-01-02T03:04:05Z`, `…05.12Z`. */
export function goTime(date: Date): string {
  const iso = date.toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : "Z"));
}

/** Unix seconds → Date. */
export function epochDate(seconds: number): Date {
  return new Date(seconds * 1000);
}
