/** Builds throwaway context directories for the context tests. */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A tree spec: "path/file": content, "path/dir/": null (empty dir), "link": { link: target }, { mode } on files. */
export type TreeSpec = Record<string, string | null | { readonly link: string } | { readonly content: string; readonly mode: number }>;

export function makeTree(spec: TreeSpec, root = mkdtempSync(join(tmpdir(), "tsb-ctx-"))): string {
  for (const [path, v] of Object.entries(spec)) {
    const abs = join(root, path);
    if (v === null) {
      mkdirSync(abs, { recursive: true });
      continue;
    }
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof v === "string") writeFileSync(abs, v);
    else if ("link" in v) symlinkSync(v.link, abs);
    else {
      writeFileSync(abs, v.content);
      chmodSync(abs, v.mode);
    }
  }
  return root;
}

export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export function tempDir(prefix = "tsb-ctx-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
