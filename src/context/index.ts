/**
 * context: the build context read straight from disk — .dockerignore (Docker's exact rules, with the deciding line),
 * safe path resolution (nothing ever resolves outside the context), COPY selections and sha256 content checksums
 * backed by a persistent stat + xxh64 index; contexts from a tar stream, an http(s) URL or git are fetched into a
 * directory first. It must not copy files into images, touch images, or import other rooms.
 * Own pattern code rather than @balena/dockerignore: BuildKit's parent-match-info walk semantics and "which line
 * decided" are not expressible through a node-ignore style API.
 */
export { openContext, BuildContext, type OpenContextOptions } from "./build-context.js";
export { type DirLister, type ListedChild } from "./fs-view.js";
export { loadSelectionFiles } from "./selection-memo.js";
export { IgnoreRules, loadIgnoreRules, parseIgnoreFile, type IgnoreVerdict, type IgnoreSource } from "./dockerignore.js";
export { PatternList, type PatternSource, type MatchInfo, type MatchResult, type RawPattern } from "./patterns.js";
export { matchPath, cleanPath, containsWildcards, splitWildcards } from "./go-path.js";
export { resolveInContext, nodeSafeFs, type SafeFs, type Resolved, type Escape } from "./safe-path.js";
export {
  ContextError,
  ContextRootError,
  ContextNotFoundError,
  ContextExcludedError,
  ContextSymlinkLoopError,
  ContextPatternError,
  ContextReadError,
  ContextNotMemoizedError,
} from "./errors.js";
export { classifyContext, redactUrl, type ContextSource } from "./remote-url.js";
export { fetchContext, type FetchContextOptions, type FetchedContext } from "./remote.js";
export { extractContextArchive, isContextArchive, type ArchiveLimits } from "./archive-context.js";
export type { GitContextSpec } from "./git-context.js";
export type { Selector, Selection, ContextEntry, EntryType, Explanation, ContextStats } from "./types.js";
