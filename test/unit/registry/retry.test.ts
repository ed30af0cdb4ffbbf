import { describe, it, expect } from "@jest/globals";
import { DEFAULT_RETRY_POLICY, RetryBudget, backoffDelay, isRetryableError, isRetryableStatus, parseRetryAfter } from "../../../src/registry/retry.js";

describe("retry policy", () => {
  it.each([[429, true], [500, true], [502, true], [503, true], [501, false], [404, false], [401, false], [408, true]] as const)("status %d retryable: %s", (s, ok) => {
    expect(isRetryableStatus(s)).toBe(ok);
  });
  it("classifies connection errors, also as causes", () => {
    expect(isRetryableError({ code: "ECONNRESET" })).toBe(true);
    expect(isRetryableError({ code: "UND_ERR_SOCKET" })).toBe(true);
    expect(isRetryableError(new Error("x", { cause: { code: "UND_ERR_BODY_TIMEOUT" } }))).toBe(true);
    expect(isRetryableError({ code: "ENOENT" })).toBe(false);
    expect(isRetryableError(undefined)).toBe(false);
  });
  it("parses Retry-After seconds and dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
  it("backs off exponentially with jitter, capped, and honours Retry-After up to the cap", () => {
    const p = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(p, 1, undefined, () => 0)).toBe(50);
    expect(backoffDelay(p, 1, undefined, () => 1)).toBe(100);
    expect(backoffDelay(p, 3, undefined, () => 1)).toBe(400);
    expect(backoffDelay(p, 10, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(p, 1, 700)).toBe(700);
    expect(backoffDelay(p, 1, 60_000)).toBe(1000);
  });
  it("shares a bounded budget", () => {
    const b = new RetryBudget(2);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    expect(b.left).toBe(0);
  });
});
