// Logins cannot starve the broker or tell who exists: a cap on password checks at once (the rest
// wait, past a queue "server unavailable"), a back-off per address after failures, and passwd
// writes only names the broker reads back, always mode 0600.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pingpong, startBroker, stopStartedProcesses } from "./harness";
import { connackOf } from "./mqtt5-client";

afterAll(stopStartedProcesses);

async function passwordFile(users: Record<string, string>): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "login-limits-")), "passwd");
  for (const [user, password] of Object.entries(users)) expect(await pingpong("passwd", "-b", file, user, password).waitExit()).toBe(0);
  return file;
}

// The client waits as long as the test may for its CONNACK: a login queued behind checks of ~50 ms
// each, two at a time, waits several times longer on a loaded machine than MQTT.js's 10 s here.
const login = (host: string, port: number, password: string) =>
  connackOf(`mqtt://${host}:${port}`, { username: "alice", password, clientId: `login-${Math.random().toString(36).slice(2)}`, connectTimeout: 55_000 }).then(({ reasonCode }) => reasonCode);

describe("password checks under attack", () => {
  test("after failed logins from an address its next login waits its back-off; a login from another address does not wait behind it", async () => {
    const { port } = await startBroker("--password-file", await passwordFile({ alice: "right" }));
    for (let i = 0; i < 3; i++) expect(await login("127.0.0.1", port, "wrong")).toBe(0x86);
    // 127.0.0.1 has failed 3 times in a row: its next check waits 1 s. ::1 has not failed.
    const order: string[] = [];
    const started = performance.now();
    let v4WaitedMs = 0;
    const fromV4 = login("127.0.0.1", port, "right").then((code) => {
      v4WaitedMs = performance.now() - started;
      order.push(`127.0.0.1 ${code}`);
    });
    const fromV6 = login("[::1]", port, "right").then((code) => order.push(`::1 ${code}`));
    await Promise.all([fromV4, fromV6]);
    expect(order).toEqual(["::1 0", "127.0.0.1 0"]);
    expect(v4WaitedMs).toBeGreaterThanOrEqual(1000); // its back-off, a deliberate delay (a lower bound only)
  }, 30_000);

  test("100 bad logins at once: at most 2 are checked at a time, 64 wait, the others get 'server unavailable' (0x88) at once; nobody gets in", async () => {
    const { port, proc } = await startBroker("--password-file", await passwordFile({ alice: "right" }), "--max-connections", "0");
    const codes = await Promise.all(Array.from({ length: 100 }, () => login("127.0.0.1", port, "wrong")));
    const count = (code: number) => codes.filter((c) => c === code).length;
    expect(count(0x86) + count(0x88)).toBe(100);
    expect(count(0x88)).toBeGreaterThanOrEqual(100 - 2 - 64);
    expect(proc.output()).toContain("too many logins waiting to be checked (server unavailable)");
    // The broker still serves a good login (from an address without failures).
    expect(await login("[::1]", port, "right")).toBe(0);
  }, 60_000);
});

describe("passwd", () => {
  test("refuses user names the broker would not read back: starting with #, or with spaces around", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "login-limits-")), "passwd");
    for (const name of ["#admin", " alice", "bob ", "\tcarol"]) {
      const add = pingpong("passwd", "-b", file, name, "pw");
      expect(await add.waitExit()).toBe(2);
      expect(add.output()).toMatch(/the user name must not (start with '#'|start or end with a space)/);
    }
  });

  test("always writes mode 0600, even over a file that was 0644", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "login-limits-")), "passwd");
    writeFileSync(file, "# users\n");
    chmodSync(file, 0o644);
    expect(await pingpong("passwd", "-b", file, "alice", "pw").waitExit()).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toMatch(/^# users\nalice:\$argon2id\$/);
  });
});
