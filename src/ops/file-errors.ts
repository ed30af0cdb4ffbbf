import { TsbuildError, type TsbuildErrorOptions } from "../errors.js";

/** Stable codes of file ops (COPY/ADD/WORKDIR/heredoc files). */
export type FileOpErrorCode =
  | "TSB_OPS_COPY_NOT_FOUND"
  | "TSB_OPS_COPY_DEST"
  | "TSB_OPS_COPY_FAILED"
  | "TSB_OPS_COPY_CHECKSUM"
  | "TSB_OPS_FILE_UNKNOWN_USER"
  | "TSB_OPS_FILE_UNKNOWN_GROUP"
  | "TSB_OPS_FILE_ID_UNMAPPED"
  | "TSB_OPS_FILE_BAD_CHMOD"
  | "TSB_OPS_FILE_SYMLINK_LOOP"
  | "TSB_OPS_FILE_ARCHIVE"
  | "TSB_OPS_FILE_ARCHIVE_ESCAPE"
  | "TSB_OPS_FILE_NOT_FOUND"
  | "TSB_OPS_FILE_FAILED";

/** A file op (copy, mkdir, mkfile, rm, archive unpack) failed; the message names the path concerned. */
export class FileOpError extends TsbuildError {
  constructor(code: FileOpErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "FileOpError";
  }
}

/** The hint for ids the rootless session cannot represent. */
export const SUBID_HINT =
  "give the user subordinate ids (apt-get install uidmap; usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER), then rerun";

/** Wrap a raw fs error (ENOENT, EACCES, ...) into a FileOpError naming the operation and the image path. */
export function fsFailure(what: string, imagePath: string, err: unknown): FileOpError {
  if (err instanceof TsbuildError) return err as FileOpError;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EINVAL" && /chown/.test(what)) {
    return new FileOpError("TSB_OPS_FILE_ID_UNMAPPED", `cannot ${what} ${JSON.stringify(imagePath)}: the id is not mapped in this build session`, {
      cause: err,
      hint: SUBID_HINT,
    });
  }
  const reason = code === undefined ? (err instanceof Error ? err.message : String(err)) : describeErrno(code);
  return new FileOpError("TSB_OPS_FILE_FAILED", `cannot ${what} ${JSON.stringify(imagePath)}: ${reason}`, {
    cause: err,
    hint: code === "ENOSPC" ? "free disk space under the tsbuild root" : "check the path and the files of the stage it refers to",
  });
}

function describeErrno(code: string): string {
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "ENOTDIR":
      return "a parent path is not a directory";
    case "EISDIR":
      return "is a directory";
    case "EEXIST":
      return "already exists";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOSPC":
      return "no space left on device";
    case "ELOOP":
      return "too many levels of symbolic links";
    default:
      return code;
  }
}
