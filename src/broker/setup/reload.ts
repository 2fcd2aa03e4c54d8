// SIGHUP: the password file, the ACL file and the TLS certificate/key named at start, read again.
// Every file is read and checked before anything changes, so a bad file keeps the old configuration.
import type { Acl } from "../auth/acl";
import type { AccessControlOptions } from "../auth/hooks";
import type { TlsCredentials } from "../listeners/tls";
import { readAclFile, readPasswordFile, readTlsPem, type TlsFiles } from "./files";

export interface ReloadTargets {
  /** The object the access-control hooks read at every check; a reload swaps its `users` and `acl`. */
  access: AccessControlOptions;
  passwordFile?: string;
  aclFile?: string;
  tls?: { files: TlsFiles; credentials: TlsCredentials };
}

/**
 * Reloads what the broker was started with and says what, e.g. "password file (3 users), ACL (12
 * rules), certificate"; undefined when it was started with none of them. Throws (a UsageError naming
 * the flag and the file) and changes nothing when any file cannot be read or parsed.
 */
export function reloadFiles(targets: ReloadTargets): string | undefined {
  const users = targets.passwordFile ? readPasswordFile(targets.passwordFile) : undefined;
  const acl = targets.aclFile ? readAclFile(targets.aclFile) : undefined;
  const pem = targets.tls ? readTlsPem(targets.tls.files) : undefined;
  const reloaded: string[] = [];
  if (users) {
    targets.access.users = users;
    reloaded.push(`password file (${count(users.size, "user")})`);
  }
  if (acl) {
    targets.access.acl = acl;
    reloaded.push(`ACL (${count(aclRuleCount(acl), "rule")})`);
  }
  if (pem) {
    targets.tls!.credentials.replace(pem);
    reloaded.push("certificate");
  }
  return reloaded.length > 0 ? reloaded.join(", ") : undefined;
}

function aclRuleCount(acl: Acl): number {
  let rules = acl.anonymous.length + acl.patterns.length;
  for (const userRules of acl.users.values()) rules += userRules.length;
  return rules;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
