/** Helpers shared by the ops: typed access to input results and safe sub-paths of mounted trees. */
import { join } from "node:path";
import { nodeSafeFs, resolveInContext } from "../context/index.js";
import { EMPTY_REF, type BuildRef } from "../cache/index.js";
import { OpsError } from "./errors.js";
import type { OpResult } from "./types.js";

/** Resolve `sub` inside `root` without leaving it (symlinks are resolved within root). */
export async function resolveInside(root: string, sub: string | undefined, what: string): Promise<string> {
  if (!sub || sub === "/" || sub === ".") return root;
  const r = await resolveInContext(nodeSafeFs(root), sub, true);
  if (!r.stat) {
    throw new OpsError("TSB_OPS_MOUNT", `${what}: ${JSON.stringify(sub)} not found`, { hint: "check the mount's source= path" });
  }
  return r.contextPath === "" ? root : join(root, r.contextPath);
}

/** The filesystem ref of an input (scratch for `null`); other result kinds are rejected. */
export function fsInput(inputs: readonly OpResult[], index: number | null, what: string): BuildRef {
  if (index === null) return EMPTY_REF;
  const r = inputs[index];
  if (!r) throw new OpsError("TSB_OPS_BAD_INPUT", `${what}: input ${index} is missing`, { hint: "this is a bug in the graph" });
  if (r.kind !== "fs") throw new OpsError("TSB_OPS_BAD_INPUT", `${what}: input ${index} is a ${r.kind} source, not a filesystem`, { hint: "this is a bug in the graph" });
  return r.ref;
}
