// The password file: one `user:hash` line per user, the hash from Bun.password (argon2id or bcrypt).
// Parsing and editing are pure; reading, writing and hashing are left to the caller.

/** argon2id at OWASP's minimum (19 MiB, 2 passes): strong, yet a connect costs milliseconds, not a second. */
export const PASSWORD_HASH = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

/** The same strength with bcrypt, for files other tools must read too. */
export const BCRYPT_HASH = { algorithm: "bcrypt", cost: 10 } as const;

export class PasswordFileError extends Error {}

/** Hash formats Bun.password.verify understands (PHC argon2, modular-crypt bcrypt). */
const HASH_PREFIXES = ["$argon2id$", "$argon2i$", "$argon2d$", "$2a$", "$2b$", "$2y$"];

export function isSupportedHash(hash: string): boolean {
  return HASH_PREFIXES.some((prefix) => hash.startsWith(prefix));
}

/** Reads `user:hash` lines (blank lines and # comments ignored) into user -> hash. */
export function parsePasswordFile(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    // Never echo the line: it holds a hash.
    if (colon <= 0) throw new PasswordFileError(`line ${index + 1}: expected user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!isSupportedHash(hash)) {
      throw new PasswordFileError(`line ${index + 1}: the hash of user "${user}" is not argon2 or bcrypt (make it with 'mqtt-pingpong passwd')`);
    }
    if (users.has(user)) throw new PasswordFileError(`line ${index + 1}: user "${user}" appears twice`);
    users.set(user, hash);
  }
  return users;
}

/** A user name fit for the file: not empty, no ':' (the separator), no line breaks, read back as written. */
export function checkUserName(user: string): string | undefined {
  if (user === "") return "the user name must not be empty";
  if (/[:\r\n]/.test(user)) return `the user name must not contain ':' or a line break: "${user}"`;
  // The file reader skips lines starting with # and trims each line: such a user could never log in.
  if (user.startsWith("#")) return `the user name must not start with '#' (the file would read it as a comment): "${user}"`;
  if (user.trim() !== user) return `the user name must not start or end with a space: "${user}"`;
  return undefined;
}

/** The file's text with `user` set to `hash`: replaced in place, or appended. Comments are kept. */
export function setUserLine(text: string, user: string, hash: string): string {
  const lines = fileLines(text);
  const index = lines.findIndex((line) => lineUser(line) === user);
  if (index >= 0) lines[index] = `${user}:${hash}`;
  else lines.push(`${user}:${hash}`);
  return lines.join("\n") + "\n";
}

/** The file's text without `user`, or undefined when there was no such user. */
export function deleteUserLine(text: string, user: string): string | undefined {
  const lines = fileLines(text);
  const kept = lines.filter((line) => lineUser(line) !== user);
  if (kept.length === lines.length) return undefined;
  return kept.length === 0 ? "" : kept.join("\n") + "\n";
}

function fileLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function lineUser(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith("#")) return undefined;
  const colon = trimmed.indexOf(":");
  return colon > 0 ? trimmed.slice(0, colon) : undefined;
}
