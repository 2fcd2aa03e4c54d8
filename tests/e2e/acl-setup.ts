// Password and ACL files for the access-control tests, and mosquitto's clients logged in as a user.
import { expect } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pingpong, Proc } from "./harness";

export interface AuthFiles {
  dir: string;
  passwd: string;
  acl: string;
  /** Replaces the ACL file's text (a restarted broker reads the new rules). */
  writeAcl(text: string): void;
}

/** A password file where each user's password is `<user>-pw`, and an ACL file with `aclText`. */
export async function authFiles(users: string[], aclText: string): Promise<AuthFiles> {
  const dir = mkdtempSync(join(tmpdir(), "pingpong-acl-"));
  const passwd = join(dir, "passwd");
  for (const user of users) expect(await pingpong("passwd", "-b", passwd, user, `${user}-pw`).waitExit()).toBe(0);
  const acl = join(dir, "acl");
  const writeAcl = (text: string) => writeFileSync(acl, text);
  writeAcl(aclText);
  return { dir, passwd, acl, writeAcl };
}

/** mosquitto_pub / mosquitto_sub on 127.0.0.1:port as `user` (password `<user>-pw`). */
export function mosquittoAs(tool: "mosquitto_pub" | "mosquitto_sub", port: number, version: "5" | "311", user: string, ...args: string[]): Proc {
  return new Proc([tool, "-h", "127.0.0.1", "-p", String(port), "-V", version, "-u", user, "-P", `${user}-pw`, ...args]);
}

/** Starts a mosquitto_sub and waits until the broker logs its subscription to `filter`. */
export async function subscribedAs(broker: Proc, port: number, version: "5" | "311", user: string, filter: string, ...args: string[]): Promise<Proc> {
  const escaped = filter.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`subscribed to ${escaped} \\(`);
  const before = broker.lines.filter((line) => pattern.test(line)).length;
  const sub = mosquittoAs("mosquitto_sub", port, version, user, "-t", filter, ...args);
  await broker.waitForCount(pattern, before + 1);
  return sub;
}
