/**
 * progress: turns the solver's progress events into what a user sees (live tty view, BuildKit-style plain lines,
 * raw JSON lines, or nothing) and keeps build logs (full per-vertex files, a short in-memory tail). Renderers only
 * write to the streams they are given; they never run builds, and producers never format text.
 */
export { createRenderer, resolveProgressMode, isProgressMode, parseProgressMode, teeProgress } from "./renderer.js";
export type { ProgressMode, Renderer, CreateRendererOptions } from "./renderer.js";
export { formatSummary, formatDuration, type BuildSummary } from "./summary.js";
export { LogRing, type TrackedVertex } from "./log-ring.js";
export { createLogFiles, type LogFiles } from "./log-files.js";
export { PlainRenderer, formatBytes } from "./render/plain.js";
export type { SignalHooks, TtyStream } from "./render/tty.js";
export { noProgress, type ProgressEvent, type ProgressSink, type VertexInfo } from "./events.js";
