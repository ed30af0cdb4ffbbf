/** Whether `err` (or the error it wraps) is EPIPE: the reader of a pipe, e.g. of standard output, went away. */
export function isBrokenPipe(err: unknown): boolean {
  const epipe = (e: unknown): boolean => (e as { code?: unknown } | undefined)?.code === "EPIPE" || /\bEPIPE\b/.test((e as Error | undefined)?.message ?? "");
  return epipe(err) || epipe((err as { cause?: unknown } | undefined)?.cause);
}
