/**
 * Go's time.ParseDuration, for HEALTHCHECK flags: `300ms`, `-1.5h`, `2h45m`, `1µs`. Returns nanoseconds.
 */

const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX = (1n << 63n) - 1n;

/** Why a duration is invalid, worded as Go does (`time: missing unit in duration "5"`). */
export class DurationError extends Error {}

/**
 * Parse a Go duration string to nanoseconds (exact up to 2^53 ns ≈ 104 days, rounded above).
 * @throws DurationError
 */
export function parseGoDuration(s: string): number {
  const orig = s;
  const quoted = JSON.stringify(orig);
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new DurationError(`time: invalid duration ${quoted}`);
  let total = 0n;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const intPart = m[1] ?? "";
    const fracPart = m[2] ?? "";
    if (intPart === "" && fracPart === "") throw new DurationError(`time: invalid duration ${quoted}`);
    s = s.slice(m[0].length);
    const u = /^[^0-9.]*/.exec(s)![0];
    if (u === "") throw new DurationError(`time: missing unit in duration ${quoted}`);
    const unit = UNITS[u];
    if (unit === undefined) throw new DurationError(`time: unknown unit ${JSON.stringify(u)} in duration ${quoted}`);
    s = s.slice(u.length);
    let v = BigInt(intPart || "0") * unit;
    if (fracPart !== "") {
      // Truncate like Go: fraction * unit / 10^digits.
      v += (BigInt(fracPart) * unit) / 10n ** BigInt(fracPart.length);
    }
    total += v;
    if (total > MAX + (neg ? 1n : 0n)) throw new DurationError(`time: invalid duration ${quoted}`);
  }
  return Number(neg ? -total : total);
}
