// The files the broker's flags name, read and checked at start: a problem is a usage error naming the flag.
import tls from "node:tls";
import { UsageError } from "../../core/usage-error";
import { readFlagFile } from "../../flag-file";
import { log } from "../../log";
import { parseAcl } from "../auth/acl";
import { parsePasswordFile } from "../auth/password-file";
import type { TlsPem } from "../listeners/tls";
import type { BrokerArgValues } from "./flags";

/** Runs `parse` over the file's text; a parse error becomes a usage error naming the flag and file. */
function parseFlagFile<T>(flag: string, file: string, parse: (text: string) => T): T {
  const text = readFlagFile(flag, file).toString("utf8");
  try {
    return parse(text);
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: ${(error as Error).message}`);
  }
}

export function readPasswordFile(file: string): Map<string, string> {
  const users = parseFlagFile("password-file", file, parsePasswordFile);
  if (users.size === 0) log.warn(`--password-file ${file} has no users: only anonymous clients (if allowed) can connect.`);
  return users;
}

export function readAclFile(file: string) {
  return parseFlagFile("acl-file", file, parseAcl);
}

export interface TlsFiles {
  cert: string;
  key: string;
  cafile?: string;
}

/** The TLS files named by --cert, --key and --cafile, read and checked to make a working context. */
export function readTlsPem(files: TlsFiles): TlsPem {
  const cert = readFlagFile("cert", files.cert).toString("utf8");
  const key = readFlagFile("key", files.key).toString("utf8");
  const ca = files.cafile ? readFlagFile("cafile", files.cafile).toString("utf8") : undefined;
  try {
    tls.createSecureContext({ cert, key, ca });
  } catch (error) {
    throw new UsageError(`--cert/--key/--cafile: ${(error as Error).message}`);
  }
  return { cert, key, ca };
}

export function tlsFilesOf(args: BrokerArgValues): TlsFiles {
  if (!args.cert || !args.key) throw new UsageError("--tls-port needs --cert and --key");
  if (args["require-certificate"] && !args.cafile) throw new UsageError("--require-certificate needs --cafile (the CA client certificates must chain to)");
  return { cert: String(args.cert), key: String(args.key), cafile: args.cafile ? String(args.cafile) : undefined };
}
