import { readFileSync } from "node:fs";
import { UsageError } from "./core/usage-error";

/** Reads a file named by a flag; a missing or unreadable file is a usage error naming the flag. */
export function readFlagFile(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`--${name}: cannot read "${path}": ${describeFileError(error)}`);
  }
}

function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return (error as Error).message;
}
