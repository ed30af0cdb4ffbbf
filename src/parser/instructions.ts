/**
 * Typed Dockerfile instructions: the contract between the parser (AST → Dockerfile) and the frontend
 * (Dockerfile → build graph). Mirrors BuildKit's instructions package (commands.go): words are kept RAW
 * (unexpanded); the frontend expands them with the stage's env via `expandWord`/`expandWords` (expand.ts).
 * Every instruction carries its `source` ranges so that later errors can point back at the Dockerfile.
 */
import type { SourceRange } from "../errors.js";

/** Fields every typed instruction has. */
export interface InstructionBase {
  /** Physical source range(s) of the instruction (heredoc bodies included). */
  readonly source: readonly SourceRange[];
  /** The logical line as written, trimmed (BuildKit's `String()` of a command). */
  readonly original: string;
  /** The keyword as written (`run`, `Run`, `RUN`), for casing lints. */
  readonly keywordRaw: string;
  /** Comments directly above the instruction (without `#`). */
  readonly comments: readonly string[];
}

/** A `key=value` pair of ENV or LABEL (both raw, unexpanded). */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** One name of an ARG line: `NAME` (no default, `value` undefined) or `NAME=default`. */
export interface ArgDef {
  readonly key: string;
  readonly value?: string;
}

/**
 * The command of RUN / CMD / ENTRYPOINT / HEALTHCHECK CMD. Shell form: `json` false and `args` is one string,
 * the whole command line, which is run by the stage's SHELL (BuildKit `PrependShell`). Exec form: `json` true
 * and `args` are the JSON array elements.
 */
export interface CommandLine {
  readonly json: boolean;
  readonly args: readonly string[];
}

/** A heredoc attached to RUN (an inline file fed to the shell) — BuildKit `ShellInlineFile`. */
export interface InlineFile {
  /** The heredoc delimiter (`EOF`). */
  readonly name: string;
  /** The body as parsed (for `<<-` leading tabs already stripped). */
  readonly data: string;
  readonly chomp: boolean;
  /** False when the delimiter was quoted: the body must not be expanded. */
  readonly expand: boolean;
  /** `3<<EOF` → 3; 0 by default. */
  readonly fileDescriptor: number;
}

/** A heredoc used as a COPY/ADD source — BuildKit `SourceContent`. */
export interface SourceContent {
  /** The file name to create (the heredoc delimiter). */
  readonly path: string;
  /** The content (chomped for `<<-`). */
  readonly data: string;
  /** False when the delimiter was quoted: the content must not be expanded. */
  readonly expand: boolean;
}

/** RUN `--network` values (BuildKit commands_runnetwork.go). */
export type NetworkMode = "default" | "none" | "host";
/** RUN `--security` values (BuildKit commands_runsecurity.go). */
export type SecurityMode = "sandbox" | "insecure";

export interface RunInstruction extends InstructionBase {
  readonly kind: "run";
  readonly command: CommandLine;
  readonly files: readonly InlineFile[];
  /**
   * The raw `--mount` values, in order. BuildKit expands each value and parses it at dispatch time; do the same
   * with `parseMount(raw, expand)` from mounts.ts. Values without `$` were already validated here.
   */
  readonly mounts: readonly string[];
  readonly network: NetworkMode;
  readonly security: SecurityMode;
  /** Names of the flags given (without `--`), for lints and capability checks. */
  readonly flagsUsed: readonly string[];
}

export interface CmdInstruction extends InstructionBase {
  readonly kind: "cmd";
  readonly command: CommandLine;
  readonly files: readonly InlineFile[];
}

export interface EntrypointInstruction extends InstructionBase {
  readonly kind: "entrypoint";
  /** `ENTRYPOINT []` gives `args: []` with `json: true` (clears the entrypoint). */
  readonly command: CommandLine;
  readonly files: readonly InlineFile[];
}

export interface EnvInstruction extends InstructionBase {
  readonly kind: "env";
  readonly env: readonly KeyValue[];
  /** True for the legacy `ENV KEY value` form (for the LegacyKeyValueFormat lint). */
  readonly legacyKeyValue: boolean;
}

export interface LabelInstruction extends InstructionBase {
  readonly kind: "label";
  readonly labels: readonly KeyValue[];
  /** True for the legacy `LABEL key value` form. */
  readonly legacyKeyValue: boolean;
}

export interface MaintainerInstruction extends InstructionBase {
  readonly kind: "maintainer";
  readonly maintainer: string;
}

export interface ExposeInstruction extends InstructionBase {
  readonly kind: "expose";
  /** Raw port words (`80`, `8080/tcp`, `$PORT`), sorted as BuildKit does. */
  readonly ports: readonly string[];
}

/** Shared by COPY and ADD: the raw source words, heredoc sources and the raw destination. */
export interface SourcesAndDest {
  readonly sources: readonly string[];
  readonly contents: readonly SourceContent[];
  readonly dest: string;
}

export interface AddInstruction extends InstructionBase, SourcesAndDest {
  readonly kind: "add";
  /** Raw (expanded by the frontend). Undefined when not given or empty. */
  readonly chown?: string;
  readonly chmod?: string;
  readonly checksum?: string;
  readonly link: boolean;
  /** Undefined when the flag was not given (BuildKit `*bool`). */
  readonly keepGitDir?: boolean;
  readonly unpack?: boolean;
  readonly exclude: readonly string[];
}

export interface CopyInstruction extends InstructionBase, SourcesAndDest {
  readonly kind: "copy";
  /** Stage name, stage index or image reference. NOT expanded by BuildKit (only the frontend's ARG rules). */
  readonly from?: string;
  readonly chown?: string;
  readonly chmod?: string;
  readonly link: boolean;
  readonly parents: boolean;
  readonly exclude: readonly string[];
}

export interface VolumeInstruction extends InstructionBase {
  readonly kind: "volume";
  readonly volumes: readonly string[];
}

export interface UserInstruction extends InstructionBase {
  readonly kind: "user";
  readonly user: string;
}

export interface WorkdirInstruction extends InstructionBase {
  readonly kind: "workdir";
  readonly path: string;
}

export interface ArgInstruction extends InstructionBase {
  readonly kind: "arg";
  readonly args: readonly ArgDef[];
}

export interface OnbuildInstruction extends InstructionBase {
  readonly kind: "onbuild";
  /** The trigger text stored in the image config (`ONBUILD ` removed, heredoc bodies re-appended). */
  readonly expression: string;
  /** The trigger, parsed and validated (never FROM, MAINTAINER or ONBUILD). */
  readonly trigger: Instruction;
}

export interface StopSignalInstruction extends InstructionBase {
  readonly kind: "stopsignal";
  readonly signal: string;
}

/** OCI/Docker healthcheck config. Durations are nanoseconds (Go `time.Duration`); 0 means "inherit/default". */
export interface Healthcheck {
  /** `["NONE"]`, `["CMD", ...args]` (exec form) or `["CMD-SHELL", command]` (shell form). */
  readonly test: readonly string[];
  readonly interval: number;
  readonly timeout: number;
  readonly startPeriod: number;
  readonly startInterval: number;
  readonly retries: number;
}

export interface HealthcheckInstruction extends InstructionBase {
  readonly kind: "healthcheck";
  readonly health: Healthcheck;
}

export interface ShellInstruction extends InstructionBase {
  readonly kind: "shell";
  readonly shell: readonly string[];
}

/** Every instruction that can appear inside a stage (FROM starts a `Stage` instead). */
export type Instruction =
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | EnvInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | AddInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | ShellInstruction;

export type InstructionKind = Instruction["kind"];

/** A build stage: one FROM and the instructions up to the next FROM. */
export interface Stage {
  /** The stage name, lower-cased (BuildKit compares names case-insensitively). */
  readonly name?: string;
  /** The name as written after `AS`. */
  readonly nameRaw?: string;
  /** The raw base word: an image reference, a stage name or `scratch`; may contain `$ARG`s (meta args). */
  readonly baseName: string;
  /** The raw `--platform` value; may contain `$ARG`s (meta args and `BUILDPLATFORM`/`TARGETPLATFORM`). */
  readonly platform?: string;
  /** 0-based position among the stages (`COPY --from=0`). */
  readonly index: number;
  readonly instructions: readonly Instruction[];
  /** Range of the FROM line. */
  readonly source: readonly SourceRange[];
  /** The FROM line as written, trimmed. */
  readonly original: string;
  /** The FROM keyword as written. */
  readonly keywordRaw: string;
  /** Comments directly above FROM. */
  readonly comments: readonly string[];
}

/** A whole typed Dockerfile. */
export interface Dockerfile {
  /** ARG instructions before the first FROM (usable in FROM lines, and via `ARG NAME` re-declaration in stages). */
  readonly metaArgs: readonly ArgInstruction[];
  readonly stages: readonly Stage[];
  /** The escape character in effect, to pass to `expandWord`. */
  readonly escape: "\\" | "`";
}
