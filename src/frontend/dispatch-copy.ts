/**
 * COPY and ADD → file vertex (plus merge for --link), BuildKit dispatchCopy (convert_copy.go).
 */
import { posix } from "node:path";
import { createVertex, type Chown, type CopyAction, type Edge, type FileAction } from "../graph/index.js";
import type { AddInstruction, CopyInstruction } from "../parser/index.js";
import { FrontendError } from "./errors.js";
import { CopyIgnoredFile } from "./lint/rules.js";
import type { Linter } from "./lint/linter.js";
import { type DispatchContext, displayLine, expandFor, pathRelativeToWorkingDir, prefixCommand, vertexSource } from "./dispatch-common.js";
import { commitToHistory, type DispatchState } from "./stage-state.js";

const SYMBOLIC_MODE = /^([ugoa]*[-+=]([rwxXst]*|[ugo]))+(,([ugoa]*[-+=]([rwxXst]*|[ugo]))+)*$/;

function checkChmod(chmod: string): void {
  if (/^[0-9]+$/.test(chmod)) {
    if (!/^[0-7]+$/.test(chmod) || Number.parseInt(chmod, 8) > 0o7777) {
      throw new FrontendError("TSB_FRONTEND_BAD_CHMOD", `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`);
    }
  } else if (!SYMBOLIC_MODE.test(chmod)) {
    throw new FrontendError("TSB_FRONTEND_BAD_CHMOD", `invalid chmod parameter: '${chmod}'`, { hint: "use an octal mode such as 0755 or a symbolic one such as u+x" });
  }
}

function parseChown(s: string): Chown {
  const i = s.indexOf(":");
  return i < 0 ? { user: s } : { user: s.slice(0, i), group: s.slice(i + 1) };
}

const isHttp = (s: string): boolean => /^https?:\/\//i.test(s);

/**
 * The file name of an `ADD <url>` source, as BuildKit's frontend picks it: the last element of the URL's decoded
 * path (Go's url.URL.Path: `my%20file.txt` is `my file.txt`; no query or fragment), `__unnamed__` when there is
 * none or the URL does not parse.
 */
export function urlSourceName(src: string): string {
  let path: string;
  try {
    path = decodeURIComponent(new URL(src).pathname);
  } catch {
    return "__unnamed__";
  }
  const b = posix.basename(path);
  return b !== "" && b !== "." && b !== "/" ? b : "__unnamed__";
}
const isGit = (s: string): boolean => /^git@|^git:\/\/|^ssh:\/\/|\.git(#.*)?$/.test(s);
const hasWildcards = (s: string): boolean => /[*?[\\]/.test(s);

export function dispatchCopy(
  ctx: DispatchContext,
  d: DispatchState,
  ins: CopyInstruction | AddInstruction,
  lint: Linter,
  from: DispatchState | undefined,
): void {
  const isAdd = ins.kind === "add";
  const x = (w: string): string => expandFor(ctx, d, lint, ins.source, w);
  const chown = ins.chown ? x(ins.chown) : "";
  const chmod = ins.chmod ? x(ins.chmod) : "";
  const checksum = isAdd && ins.checksum ? x(ins.checksum) : "";
  const srcs = ins.sources.map(x);
  const destRaw = x(ins.dest);
  const parents = ins.kind === "copy" && ins.parents;
  if (chmod) checkChmod(chmod);
  if (checksum) {
    if (srcs.length !== 1) throw new FrontendError("TSB_FRONTEND_BAD_COPY", "checksum can't be specified for multiple sources");
    if (!isHttp(srcs[0]!)) throw new FrontendError("TSB_FRONTEND_BAD_COPY", "checksum requires HTTP(S) or Git sources");
  }
  const dest = pathRelativeToWorkingDir(d.cwd, destRaw);
  if (from && !from.dispatched) {
    throw new FrontendError("TSB_FRONTEND_STAGE_ORDER", `cannot copy from stage ${JSON.stringify((ins as CopyInstruction).from)}, it needs to be defined before current stage ${JSON.stringify(d.stageName)}`, {
      hint: "move the stage you copy from above this one",
    });
  }

  const owner = chown ? { chown: parseChown(chown) } : {};
  const mode = chmod ? { chmod } : {};
  const excludes = ins.exclude.length > 0 ? { excludePatterns: [...ins.exclude] } : {};
  const inputs: Edge[] = [];
  const inputIndex = new Map<string, number>();
  const input = (e: Edge | null): number | null => {
    if (e === null) return null;
    const key = `${e.vertex.digest}:${e.output}`;
    let i = inputIndex.get(key);
    if (i === undefined) {
      inputs.push(e);
      i = inputs.length - 1;
      inputIndex.set(key, i);
    }
    return i;
  };
  const link = ins.link && !chmod;
  const base = link ? null : input(d.root);
  const actions: FileAction[] = [];
  let history = isAdd ? "ADD" : "COPY";
  if (parents) history += " --parents";
  // Docker 20.10's BuildKit leaves --chown/--chmod (and --from) out of the history entry.
  const progress = prefixCommand(d, displayLine(ctx, d, ins.original));

  for (const src0 of srcs) {
    history += ` ${src0}`;
    if (isHttp(src0)) {
      if (!isAdd) throw new FrontendError("TSB_FRONTEND_BAD_COPY", "source can't be a URL for COPY", { hint: "use ADD for remote files" });
      const f = urlSourceName(src0);
      const http = createVertex({ kind: "source", source: { type: "http", url: src0, filename: f, ...(checksum ? { checksum } : {}) } }, [], { name: progress, ...vertexSource(ctx, ins.source) });
      // Docker 20.10's frontend passes no --chmod to the copy of a URL: the file keeps the http source's 0600.
      actions.push({ action: "copy", src: input({ vertex: http, output: 0 }), srcPath: f, dest, ...owner, followSymlinks: false, dirContents: false, allowWildcard: false, allowEmptyWildcard: false, createDestPath: true, unpack: isAdd && ins.unpack === true, http: true, ...(checksum ? { checksum } : {}) });
      continue;
    }
    if (isAdd && isGit(src0)) {
      throw new FrontendError("TSB_FRONTEND_UNSUPPORTED", `ADD of git repositories is not supported yet: ${src0}`, { hint: "clone the repository into the build context and COPY it" });
    }
    let src = src0;
    let includePatterns: string[] | undefined;
    if (parents) {
      const cut = src.indexOf("/./");
      let pattern = src;
      if (cut < 0) src = "/";
      else [src, pattern] = [src.slice(0, cut), src.slice(cut + 3)];
      includePatterns = [posix.normalize(posix.join("/", pattern)).replace(/^\//, "")];
    }
    if (!from && ctx.opts.isIgnored) {
      const rel = posix.normalize(src0).replace(/^\/+/, "").replace(/\/+$/, "");
      if (rel !== "" && rel !== "." && !hasWildcards(rel) && ctx.opts.isIgnored(rel)) lint.run(CopyIgnoredFile, ins.source, isAdd ? "Add" : "Copy", src0);
    }
    const srcEdge = from ? from.root : ctx.context();
    const action: CopyAction = {
      action: "copy",
      src: input(srcEdge),
      srcPath: posix.normalize(posix.join("/", src)),
      dest,
      ...owner,
      ...mode,
      followSymlinks: true,
      dirContents: true,
      allowWildcard: true,
      allowEmptyWildcard: true,
      createDestPath: true,
      ...(includePatterns ? { includePatterns } : {}),
      ...excludes,
      ...(parents ? { parents: true } : {}),
      ...((isAdd ? (ins.unpack ?? true) : false) ? { unpack: true } : {}),
    };
    actions.push(action);
  }

  for (const c of ins.contents) {
    history += ` <<${c.path}`;
    const data = c.expand ? expandFor(ctx, d, lint, ins.source, c.data, { skipProcessQuotes: true, escape: "\\" }) : c.data;
    const doc = createVertex({ kind: "file", base: null, actions: [{ action: "mkfile", path: posix.join("/", c.path), mode: 0o644, data }] }, [], { name: "preparing inline document" });
    actions.push({ action: "copy", src: input({ vertex: doc, output: 0 }), srcPath: posix.join("/", c.path), dest, ...owner, ...mode, followSymlinks: false, dirContents: false, allowWildcard: false, allowEmptyWildcard: false, createDestPath: true });
  }
  history += ` ${destRaw}`;

  const opts = { description: { "com.docker.dockerfile.v1.command": ins.original }, ...vertexSource(ctx, ins.source) };
  const file = createVertex({ kind: "file", base, actions }, inputs, { name: progress, ...opts });
  if (link && d.root !== null) {
    const mergeName = progress.replace(/^(\[[^\]]*\] )/, "$1LINK ");
    d.root = { vertex: createVertex({ kind: "merge", inputs: [0, 1] }, [d.root, { vertex: file, output: 0 }], { name: mergeName, ...opts }), output: 0 };
  } else {
    d.root = { vertex: file, output: 0 };
  }
  commitToHistory(d.image, history, true, true);
}
