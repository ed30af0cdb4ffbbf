/**
 * frontend: typed Dockerfile → build graph + image config (BuildKit's dockerfile2llb), and the build checks
 * (lint rules as data). Pure except for the injected ImageMetaResolver: never touches the filesystem, the network
 * or process state, never runs anything.
 */
export { compile, type CompileInternals } from "./compile.js";
export { compileText, checkDockerfile, unresolvedImageResolver, type CheckOptions, type CheckResult, type CompileTextOptions } from "./entry.js";
export { FrontendError } from "./errors.js";
export { hostPlatform, parsePlatform, formatPlatform } from "./platform.js";
export type { CompileOptions, CompileResult, CompiledStage, ImageMetaResolver, ResolvedImage } from "./types.js";
export { allRules } from "./lint/rules.js";
export { parseCheckConfig } from "./lint/linter.js";
export type { CheckConfig, LintFinding, LintLevel, LintRule } from "./lint/types.js";
