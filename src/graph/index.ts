/**
 * graph: the build IR (BuildKit's LLB in spirit). Vertices hold source/exec/file/merge ops, are content-addressed
 * (digest = op definition + input digests, never names, source ranges or proxy env) and frozen once created.
 * Pure data and printing only: this room never runs anything, touches the filesystem or knows Dockerfiles.
 */
export type {
  BindMount,
  BuildGraph,
  CacheMount,
  Chown,
  CopyAction,
  Edge,
  ExecMeta,
  ExtraHost,
  ExecMount,
  ExecOp,
  FileAction,
  FileOp,
  GraphPlatform,
  HttpSource,
  ImageSource,
  InputIndex,
  LocalSource,
  MergeOp,
  MkdirAction,
  MkfileAction,
  Op,
  OpKind,
  ProxyEnv,
  RmAction,
  SecretMount,
  Source,
  SourceOp,
  SshMount,
  TmpfsMount,
  Vertex,
  VertexOptions,
} from "./types.js";
export { GraphError } from "./errors.js";
export { buildGraph, collectVertices, computeDigest, createVertex } from "./vertex.js";
export {
  describeOp,
  graphFromJson,
  graphToDot,
  graphToJson,
  graphToMermaid,
  graphToText,
  shortDigest,
  type GraphJson,
} from "./serialize.js";
