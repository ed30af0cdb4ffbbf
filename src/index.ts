/**
 * tsbuild's public Node API: named re-exports only.
 */
export { TsbuildError, UsageError, type ErrorCode, type Position, type SourceRange, type SourceLocation } from "./errors.js";
export { parseDockerfile, dumpAst, ParseError, type ParseOptions, type ParseErrorCode, type Ast, type Directive, type Heredoc, type InstructionNode, type ParseWarning } from "./parser/index.js";
export { compile, compileText, checkDockerfile, unresolvedImageResolver, FrontendError, parsePlatform, formatPlatform, hostPlatform, allRules, parseCheckConfig, type CompileOptions, type CompileResult, type CompiledStage, type CompileTextOptions, type CheckOptions, type CheckResult, type ImageMetaResolver, type ResolvedImage, type CheckConfig, type LintFinding, type LintLevel, type LintRule } from "./frontend/index.js";
export { buildGraph, createVertex, graphFromJson, graphToDot, graphToJson, graphToMermaid, graphToText, shortDigest, GraphError, type BuildGraph, type Edge, type Op, type Vertex, type VertexOptions, type GraphJson, type GraphPlatform } from "./graph/index.js";
export { loadIgnoreRules, openContext, BuildContext, IgnoreRules, ContextError, ContextNotFoundError, ContextExcludedError, ContextSymlinkLoopError, ContextPatternError, ContextReadError, ContextRootError, type IgnoreSource, type IgnoreVerdict, type OpenContextOptions, type Selector, type Selection, type ContextEntry, type EntryType, type Explanation, type ContextStats } from "./context/index.js";
export { resolveRoot, rootLayout, openContentStore, StoreError, createLease, deleteLease, withLease, prune, diskUsage, fsck, registerRootProvider, type ContentStore, type BlobInfo, type BlobWriter, type IngestExpected, type Lease, type RootLayout, type RootProvider, type PruneOptions, type PruneReport, type FsckReport, type UsageRow } from "./store/index.js";
export { ImageStore, ImageError, openImageStore, normalizeImageName, importRootfs, loadArchive, writeImage, writeManifest, writeOciArchive, writeOciLayoutDir, writeDockerArchive, imageClosure, type ImageRecord, type ExportImage, type LoadedImage, type WrittenImage } from "./image/index.js";
export { toDockerfile, InstructionError, expandWord, expandWords, expandWordWithMatches, ExpandError, parseMount, type InstructionErrorCode, type ExpandEnv, type ExpandOptions, type ExpandResult, type Dockerfile, type Stage, type Instruction, type InstructionKind, type Mount } from "./parser/index.js";
export { parseReference, InvalidReferenceError, withTag, withDigest, isValidTag, type ImageReference, type ParseReferenceOptions } from "./image/index.js";
export { openRegistry, verifyLogin, RegistryError, DockerCredentials, StaticCredentials, storeCredentials, eraseCredentials, dockerConfigPath, DEFAULT_RETRY_POLICY, type Registry, type RegistryOptions, type RegistryErrorKind, type PullOptions, type PullResult, type PushOptions, type PushResult, type RegistryProgress, type ImageRecorder, type Credentials, type CredentialSource, type RetryPolicy, type TransportTimeouts } from "./registry/index.js";
export {
  createSandbox,
  ensureSession,
  currentSession,
  runInSession,
  toHostId,
  toContainerId,
  ExecutorError,
  type Sandbox,
  type ProcessSpec,
  type Mount as SandboxMount,
  type RunOptions,
  type RunResult,
  type Session,
  type SessionOutcome,
  type IdMap,
} from "./executor/index.js";
export { createSnapshotter, probeOverlay, exportLayer, applyLayer, LAYER_MEDIA_TYPES, SnapshotError, LayerError, type Snapshotter, type SnapshotterOptions, type SnapshotterReport, type SnapshotInfo, type SnapshotKind, type DiffSource, type DiffEntry, type ApplyTarget, type ApplyResult, type ExportOptions, type LayerDescriptor, type Compression } from "./snapshot/index.js";
export { createRenderer, resolveProgressMode, isProgressMode, parseProgressMode, teeProgress, createLogFiles, LogRing, formatSummary, formatDuration, type ProgressMode, type Renderer, type CreateRendererOptions, type BuildSummary, type LogFiles, type TrackedVertex, type ProgressEvent, type ProgressSink, type VertexInfo } from "./progress/index.js";
export { commitImage, exportOutputs, parseOutputSpec, parseOutputSpecs, copyTree, writeTreeTar, alignHistory, buildMetadata, writeIidFile, writeMetadataFile, ExportError, type CommitImageOptions, type CommittedImage, type CommittedLayer, type ExportOutputsOptions, type ExportResult, type OutputResult, type OutputSpec, type ImageOutputOptions, type ImageMetadataSource, type ExportErrorCode } from "./exporter/index.js";
export { toSolverGraph, createOpResolver, createOpCacheStore, createImageResolver, asImageMetaResolver, ImageResolver, ExecError, OpsError, type OpsErrorCode, type OpDeps, type OpResult, type SecretSource, type ImageResolveOptions, type GraphSolverVertex, type FileOpFactory, type OpResolverOptions, type ResolvedBaseImage, type ResolvedLayer, type ImageResolverDeps } from "./ops/index.js";
export { explainLastBuild, loadBuildRecords, saveBuildRecord, makeBuildRecord, buildRecordDir, type ExplainOptions, type BuildRecordInput } from "./build-records.js";
export { explainMisses, formatMisses, type BuildRecord, type RecordedStep, type MissExplanation, type MissCause } from "./solver/index.js";
export { parseCacheExportSpec, parseCacheImportSpec, SharedCache, RemoteCacheError, CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, type CacheExportSpec, type CacheImportSpec, type CacheExportOptions, type RemoteCacheErrorCode } from "./cache/remote/index.js";
