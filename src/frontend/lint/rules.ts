/**
 * The build-check rules, as data. Names, descriptions, messages and URLs are BuildKit's, so users can look them up
 * at https://docs.docker.com/go/dockerfile/rule/<kebab-name>/.
 */
import type { LintRule } from "./types.js";

const url = (kebab: string): string => `https://docs.docker.com/go/dockerfile/rule/${kebab}/`;

export const StageNameCasing: LintRule<[stageName: string]> = {
  name: "StageNameCasing",
  description: "Stage names should be lowercase",
  url: url("stage-name-casing"),
  format: (stageName) => `Stage name '${stageName}' should be lowercase`,
};

export const FromAsCasing: LintRule<[from: string, as: string]> = {
  name: "FromAsCasing",
  description: "The 'as' keyword should match the case of the 'from' keyword",
  url: url("from-as-casing"),
  format: (from, as) => `'${as}' and '${from}' keywords' casing do not match`,
};

export const NoEmptyContinuation: LintRule<[]> = {
  name: "NoEmptyContinuation",
  description: "Empty continuation lines will become errors in a future release",
  url: url("no-empty-continuation"),
  format: () => "Empty continuation line",
};

export const ConsistentInstructionCasing: LintRule<[violating: string, correctCasing: string]> = {
  name: "ConsistentInstructionCasing",
  description: "All commands within the Dockerfile should use the same casing (either upper or lower)",
  url: url("consistent-instruction-casing"),
  format: (violating, correctCasing) => `Command '${violating}' should match the case of the command majority (${correctCasing})`,
};

export const DuplicateStageName: LintRule<[stageName: string]> = {
  name: "DuplicateStageName",
  description: "Stage names should be unique",
  url: url("duplicate-stage-name"),
  format: (stageName) => `Duplicate stage name ${JSON.stringify(stageName)}, stage names should be unique`,
};

export const ReservedStageName: LintRule<[name: string]> = {
  name: "ReservedStageName",
  description: "Reserved words should not be used as stage names",
  url: url("reserved-stage-name"),
  format: (name) => `Stage name should not use the same name as reserved stage ${JSON.stringify(name)}`,
};

export const JSONArgsRecommended: LintRule<[instruction: string]> = {
  name: "JSONArgsRecommended",
  description: "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
  url: url("json-args-recommended"),
  format: (instruction) => `JSON arguments recommended for ${instruction} to prevent unintended behavior related to OS signals`,
};

export const MaintainerDeprecated: LintRule<[]> = {
  name: "MaintainerDeprecated",
  description: "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
  url: url("maintainer-deprecated"),
  format: () => "Maintainer instruction is deprecated in favor of using label",
};

export const UndefinedArgInFrom: LintRule<[arg: string, suggestion?: string]> = {
  name: "UndefinedArgInFrom",
  description: "FROM command must use declared ARGs",
  url: url("undefined-arg-in-from"),
  format: (arg, suggestion) => `FROM argument '${arg}' is not declared${suggestion ? ` (did you mean ${suggestion}?)` : ""}`,
};

export const WorkdirRelativePath: LintRule<[workdir: string]> = {
  name: "WorkdirRelativePath",
  description:
    "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes",
  url: url("workdir-relative-path"),
  format: (workdir) => `Relative workdir ${JSON.stringify(workdir)} can have unexpected results if the base image changes`,
};

export const UndefinedVar: LintRule<[name: string, suggestion?: string]> = {
  name: "UndefinedVar",
  description: "Variables should be defined before their use",
  url: url("undefined-var"),
  format: (name, suggestion) => `Usage of undefined variable '$${name}'${suggestion ? ` (did you mean $${suggestion}?)` : ""}`,
};

export const MultipleInstructionsDisallowed: LintRule<[instruction: string]> = {
  name: "MultipleInstructionsDisallowed",
  description: "Multiple instructions of the same type should not be used in the same stage",
  url: url("multiple-instructions-disallowed"),
  format: (instruction) =>
    `Multiple ${instruction} instructions should not be used in the same stage because only the last one will be used`,
};

export const LegacyKeyValueFormat: LintRule<[instruction: string]> = {
  name: "LegacyKeyValueFormat",
  description: "Legacy key/value format with whitespace separator should not be used",
  url: url("legacy-key-value-format"),
  format: (cmd) => `"${cmd} key=value" should be used instead of legacy "${cmd} key value" format`,
};

export const SecretsUsedInArgOrEnv: LintRule<[instruction: string, key: string]> = {
  name: "SecretsUsedInArgOrEnv",
  description: "Sensitive data should not be used in the ARG or ENV commands",
  url: url("secrets-used-in-arg-or-env"),
  format: (instruction, key) => `Do not use ARG or ENV instructions for sensitive data (${instruction} ${JSON.stringify(key)})`,
};

export const InvalidDefaultArgInFrom: LintRule<[baseName: string]> = {
  name: "InvalidDefaultArgInFrom",
  description: "Default value for global ARG results in an empty or invalid base image name",
  url: url("invalid-default-arg-in-from"),
  format: (baseName) => `Default value for ARG ${baseName} results in empty or invalid base image name`,
};

export const CopyIgnoredFile: LintRule<[instruction: string, file: string]> = {
  name: "CopyIgnoredFile",
  description: "Attempting to Copy file that is excluded by .dockerignore",
  url: url("copy-ignored-file"),
  format: (cmd, file) => `Attempting to ${cmd} file ${JSON.stringify(file)} that is excluded by .dockerignore`,
};

export const RedundantTargetPlatform: LintRule<[platformVar: string]> = {
  name: "RedundantTargetPlatform",
  description: "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
  url: url("redundant-target-platform"),
  format: (v) => `Setting platform to predefined ${v} in FROM is redundant as this is the default behavior`,
};

export const FromPlatformFlagConstDisallowed: LintRule<[platform: string]> = {
  name: "FromPlatformFlagConstDisallowed",
  description: "FROM --platform flag should not use a constant value",
  url: url("from-platform-flag-const-disallowed"),
  format: (p) => `FROM --platform flag should not use constant value ${JSON.stringify(p)}`,
};

export const ExposeProtoCasing: LintRule<[port: string]> = {
  name: "ExposeProtoCasing",
  description: "Protocol in EXPOSE instruction should be lowercase",
  url: url("expose-proto-casing"),
  format: (port) => `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
};

/** Every rule, by name. */
export const allRules: Readonly<Record<string, LintRule<never>>> = Object.fromEntries(
  [
    StageNameCasing, FromAsCasing, NoEmptyContinuation, ConsistentInstructionCasing, DuplicateStageName, ReservedStageName,
    JSONArgsRecommended, MaintainerDeprecated, UndefinedArgInFrom, WorkdirRelativePath, UndefinedVar,
    MultipleInstructionsDisallowed, LegacyKeyValueFormat, SecretsUsedInArgOrEnv, InvalidDefaultArgInFrom, CopyIgnoredFile,
    RedundantTargetPlatform, FromPlatformFlagConstDisallowed, ExposeProtoCasing,
  ].map((r) => [r.name, r as LintRule<never>]),
);
