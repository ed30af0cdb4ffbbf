/**
 * Retries with exponential backoff and full jitter for connection errors, 429 (honouring Retry-After) and 5xx.
 * A RetryBudget is shared by all requests of one client, so a failing registry cannot multiply the wait by the
 * number of blobs: once the budget is spent, the next failure is final.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** Tuning of retries. All durations in milliseconds. */
export interface RetryPolicy {
  /**
   * Attempts per request, including the first. Minimum 1.
   * @default 5
   */
  readonly maxAttempts: number;
  /**
   * Delay before the first retry; doubles each time (with full jitter).
   * @default 250
   */
  readonly baseDelayMs: number;
  /**
   * Cap of one backoff delay, and of an honoured Retry-After.
   * @default 10000
   */
  readonly maxDelayMs: number;
  /**
   * Retries all requests of one client may spend together.
   * @default 30
   */
  readonly budget: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, budget: 30 });

/** A shared counter of retries left. */
export class RetryBudget {
  #left: number;
  constructor(total: number) {
    this.#left = total;
  }
  /** Take one retry; false when none is left. */
  take(): boolean {
    if (this.#left <= 0) return false;
    this.#left--;
    return true;
  }
  get left(): number {
    return this.#left;
  }
}

/** HTTP statuses worth retrying. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

const RETRYABLE_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ECONNABORTED",
  "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CLOSED",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH", "UND_ERR_RES_CONTENT_LENGTH_MISMATCH", "ERR_STREAM_PREMATURE_CLOSE",
]);

/** True for connection-level failures that a new attempt may fix. */
export function isRetryableError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== err && isRetryableError(cause);
}

/** Parse Retry-After (seconds or HTTP date) into milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Delay before retry number `attempt` (1-based): full jitter over base·2^(attempt-1), capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Wait `ms`, rejecting early if `signal` aborts. */
export async function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  await sleep(ms, undefined, signal ? { signal } : undefined);
}
