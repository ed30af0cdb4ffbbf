// Types of lib.mjs for the TypeScript test helpers (test/helpers/conformance.ts).

/** One file-system entry of a layer or of the merged view. */
export interface ConformanceEntry {
  readonly path: string;
  readonly type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "whiteout" | "opaque" | string;
  readonly mode?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly link?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Unix seconds when pinned (<= CONTEXT_EPOCH), else "build". */
  readonly mtime?: number | "build";
  readonly xattrs?: Readonly<Record<string, string>>;
}

/** What the judge knows about an image. */
export interface ImageExpectation {
  readonly schema: 1;
  readonly base: { readonly layers: number; readonly history: number; readonly diffIds: readonly string[] };
  readonly image: { readonly architecture?: string; readonly os?: string; readonly config: Readonly<Record<string, unknown>> };
  readonly history: readonly { readonly created_by: string; readonly comment?: string; readonly empty_layer: boolean }[];
  readonly layers: readonly (readonly ConformanceEntry[])[];
  readonly merged: { readonly changed: readonly ConformanceEntry[]; readonly removed: readonly string[] };
}

/** A conformance case directory, loaded. */
export interface ConformanceCase {
  readonly name: string;
  readonly dir: string;
  readonly dockerfile: string;
  readonly contextDir: string;
  readonly expectedPath: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly modes: Readonly<Record<string, string>>;
  readonly mkdirs: readonly string[];
  readonly hardlinks: Readonly<Record<string, string>>;
  readonly dependsOn?: string;
  /** Secret id -> absolute path of its file (case.json `secrets`, relative to the case dir). */
  readonly secrets: Readonly<Record<string, string>>;
  /** Base layers and history entries the image starts with (0 and 0 for a FROM scratch case). */
  readonly base: { readonly baseLayers: number; readonly baseHistory: number };
  readonly imageName: string;
}

export interface BaseCounts {
  readonly baseLayers?: number;
  readonly baseHistory?: number;
}

export const CONTEXT_EPOCH: number;
export const CONFIG_FIELDS: readonly string[];
export const RUNTIME_STUB_DIRS: readonly string[];
export const BASE_IMAGE: string;
/** The conformance web server (ADD http://127.0.0.1:HTTP_PORT/<case>/…), see http-server.mjs. */
export const HTTP_PORT: number;
export const HTTP_BASE: string;
export const HTTP_LAST_MODIFIED: number;
export function startHttpServer(): Promise<{ close(): Promise<void> }>;
export function caseImageName(name: string): string;
export function loadCase(dir: string): ConformanceCase;
export function listCases(root?: string): ConformanceCase[];
export function prepareContext(c: ConformanceCase, dest: string): string;
export function readImage(path: string): Promise<{ config: Record<string, any>; layers: Buffer[] }>;
export function listLayer(tar: Buffer): Promise<ConformanceEntry[]>;
export function mergeLayers(layers: readonly (readonly ConformanceEntry[])[]): Map<string, ConformanceEntry>;
export function imageExpectation(image: { config: Record<string, any>; layers: Buffer[] }, base?: BaseCounts): Promise<ImageExpectation>;
export function archiveExpectation(path: string, base?: BaseCounts): Promise<ImageExpectation>;
export function normalizeExpectation(x: ImageExpectation): unknown;
export function compareExpectations(expected: ImageExpectation, actual: ImageExpectation): string[];
export function normCreatedBy(s: string | undefined): string;
export function normPath(p: string): string;
export function mtimeClass(d: Date): number | "build";
export function decompress(buf: Buffer): Buffer;
export function canonicalJson(v: unknown): string;
