import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { defineCommand } from "citty";
import { BCRYPT_HASH, checkUserName, deleteUserLine, PASSWORD_HASH, parsePasswordFile, setUserLine } from "../broker/auth/password-file";
import { UsageError } from "../core/usage-error";
import { log } from "../log";
import { parseChoiceFlag } from "../core/flag-parsers";

export const passwdArgs = {
  // Checked in run, so a missing one is a usage error (exit 2) like every other.
  file: { type: "positional", description: "The password file (made when missing, mode 0600)", required: false, valueHint: "file" },
  user: { type: "positional", description: "The user to add, update or delete", required: false },
  password: { type: "positional", description: "With -b: the password", required: false },
  batch: { type: "boolean", alias: "b", description: "Take the password from the command line (for scripts)" },
  delete: { type: "boolean", alias: "D", description: "Delete the user" },
  algorithm: { type: "string", description: "Hash: argon2id or bcrypt", default: "argon2id" },
} as const;

export default defineCommand({
  meta: { name: "passwd", description: "Add, update (prompting for the password) or delete a user of a --password-file" },
  args: passwdArgs,
  async run({ args }) {
    if (args.file === undefined || args.user === undefined) throw new UsageError("give the password file and the user name: passwd FILE USER");
    const file = String(args.file);
    const user = String(args.user);
    const badName = checkUserName(user);
    if (badName) throw new UsageError(badName);
    const algorithm = parseChoiceFlag("algorithm", String(args.algorithm), ["argon2id", "bcrypt"]);
    if (args.password !== undefined && !args.batch) throw new UsageError("give the password on the command line only with -b (otherwise you are asked for it)");
    if (args.batch && args.delete) throw new UsageError("-b and -D do not go together");

    const text = readExisting(file);
    if (args.delete) {
      const left = deleteUserLine(text, user);
      if (left === undefined) throw new UsageError(`no user "${user}" in ${file}`);
      writeAtomically(file, left);
      log.info(`Deleted user ${user} from ${file}.`);
      return;
    }
    let password: string;
    if (args.batch) {
      if (args.password === undefined) throw new UsageError("-b needs the password after the user name");
      password = String(args.password);
    } else {
      password = await askPassword();
    }
    if (password === "") throw new UsageError("the password must not be empty");
    const hash = await Bun.password.hash(password, algorithm === "bcrypt" ? BCRYPT_HASH : PASSWORD_HASH);
    const existed = parsePasswordFile(text).has(user);
    writeAtomically(file, setUserLine(text, user, hash));
    log.info(`${existed ? "Updated" : "Added"} user ${user} ${existed ? "in" : "to"} ${file}.`);
  },
});

function readExisting(file: string): string {
  if (!existsSync(file)) return "";
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
  try {
    parsePasswordFile(text); // refuse to rewrite a file we cannot read back
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
  return text;
}

/** Writes a new file beside the old one and renames it over, so a crash never leaves half a file. */
function writeAtomically(file: string, text: string): void {
  // Always 0600, an existing file's mode included: the hashes are worth guessing at offline.
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600); // the mode above applies only when the file is created, not to a leftover one
  renameSync(temporary, file);
}

/** On a terminal: asks twice without echo. Otherwise: the first line of stdin (`echo pw | ...`). */
async function askPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const input = await new Response(Bun.stdin.stream()).text();
    return input.split(/\r?\n/)[0] ?? "";
  }
  const first = await readHidden("Password: ");
  const second = await readHidden("Reenter password: ");
  if (first !== second) throw new UsageError("the passwords do not match");
  return first;
}

function readHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve) => {
    let typed = "";
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n") {
          stdin.off("data", onData);
          stdin.setRawMode(false);
          stdin.pause();
          process.stderr.write("\n");
          return resolve(typed);
        }
        if (char === "\u0003") {
          stdin.setRawMode(false);
          process.stderr.write("\n");
          process.exit(130);
        }
        if (char === "\u007f" || char === "\b") typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on("data", onData);
  });
}
