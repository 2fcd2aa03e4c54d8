import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connackOf, connectV5 } from "./mqtt5-client";
import { freePort, pingpong } from "./harness";

function configDir(): string {
  return mkdtempSync(join(tmpdir(), "pingpong-config-"));
}

describe("broker --config FILE", () => {
  test("the file sets the listeners, auth, $SYS and metrics; relative paths are the file's; flags win", async () => {
    const dir = configDir();
    expect(await pingpong("passwd", "-b", join(dir, "users"), "alice", "alice-pw").waitExit()).toBe(0);
    writeFileSync(join(dir, "acl"), "user alice\ntopic readwrite #\n");
    const [filePort, flagPort, wsPort, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(dir, "broker.conf"),
      [
        "# mqtt-pingpong broker settings",
        `port ${filePort}`,
        `ws-port ${wsPort}`,
        `http-port ${httpPort}`,
        "password-file users",
        "acl-file acl",
        "sys-interval 0",
        "",
      ].join("\n"),
    );
    const broker = pingpong("broker", "--config", join(dir, "broker.conf"), "--port", String(flagPort));
    const listening = await broker.waitFor(/Broker listening on/);
    // --port on the command line wins over the file's port; everything else comes from the file.
    expect(listening).toContain(`127.0.0.1:${flagPort},`);
    expect(listening).not.toContain(String(filePort));
    expect(listening).toContain(`ws://127.0.0.1:${wsPort}/mqtt`);
    expect(listening).toContain(`http://127.0.0.1:${httpPort}`);
    expect((await connackOf(`mqtt://127.0.0.1:${flagPort}`, { username: "alice", password: "wrong" })).reasonCode).toBe(0x86);
    await connectV5(`ws://127.0.0.1:${wsPort}/mqtt`, { username: "alice", password: "alice-pw" });
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
  });

  test("a boolean flag on the command line overrides the file's false", async () => {
    const dir = configDir();
    expect(await pingpong("passwd", "-b", join(dir, "users"), "alice", "alice-pw").waitExit()).toBe(0);
    const port = await freePort();
    writeFileSync(join(dir, "broker.conf"), `port ${port}\npassword-file users\nallow-anonymous false\n`);
    const broker = pingpong("broker", "--config", join(dir, "broker.conf"), "--allow-anonymous");
    await broker.waitFor(/Broker listening on/);
    await connectV5(`mqtt://127.0.0.1:${port}`); // no user name, let in
  });

  test("the local-only rule holds for a host from the file", async () => {
    const dir = configDir();
    writeFileSync(join(dir, "broker.conf"), "host 0.0.0.0\nport 0\n");
    const broker = pingpong("broker", "--config", join(dir, "broker.conf"));
    expect(await broker.waitExit()).toBe(2);
    expect(broker.output()).toContain("refusing to listen on 0.0.0.0 without authentication");
  });

  test("a mistake in the file is one line naming it, and exit status 2", async () => {
    const dir = configDir();
    const cases: Array<[string, string]> = [
      ["port 0\nprot 1\n", 'broker.conf: line 2: unknown setting "prot"'],
      ["port 0\nws-port\n", 'line 2: "ws-port" needs a value'],
      ["port 0\nallow-anonymous maybe\n", 'line 2: "allow-anonymous" takes true or false'],
      ["port 0\nmax-inflight lots\n", "--max-inflight must be"],
    ];
    for (const [text, message] of cases) {
      writeFileSync(join(dir, "broker.conf"), text);
      const broker = pingpong("broker", "--config", join(dir, "broker.conf"));
      expect(await broker.waitExit()).toBe(2);
      expect(broker.lines).toHaveLength(1);
      expect(broker.lines[0]).toContain(message);
    }
    const missing = pingpong("broker", "--config", join(dir, "nope.conf"));
    expect(await missing.waitExit()).toBe(2);
    expect(missing.output()).toContain("nope.conf\": no such file");
  });
});
