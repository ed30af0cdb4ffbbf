/**
 * Ctrl-C (SIGINT), SIGTERM and SIGHUP for commands that do not handle them themselves: files the command was
 * writing outside tsbuild's root (e.g. `tsbuild save -o FILE`'s partial archive) are removed, then the process exits
 * with 128 + the signal number, as if the signal had killed it. A command that cancels by itself (`build`, or the
 * session parent that forwards signals to its child) has its own listener, and then this one stands aside.
 * Everything inside tsbuild's root is named for its owner and reaped by the next command.
 */
import { rmSync } from "node:fs";
import { constants } from "node:os";

const partial = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let installed = false;

/** Remove `path` if the process is interrupted before the returned function is called (after the final rename). */
export function removeOnInterrupt(path: string): () => void {
  partial.add(path);
  return () => void partial.delete(path);
}

/** Install the handlers (once per process). */
export function installInterruptCleanup(): void {
  if (installed) return;
  installed = true;
  for (const sig of SIGNALS) {
    process.on(sig, () => {
      if (process.listenerCount(sig) > 1) return; // someone else cancels and cleans up
      for (const p of partial) {
        try {
          rmSync(p, { force: true, recursive: true });
        } catch {
          // best effort: the process is going away
        }
      }
      process.exit(128 + (constants.signals[sig] ?? 0));
    });
  }
}
