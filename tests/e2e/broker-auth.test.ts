import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, Proc, pingpong, startBroker, testWithPrograms } from "./harness";

const PASSWORD = "s3cret-Horse-battery";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "pingpong-auth-"));
}

/** A password file made by our own passwd command. */
async function passwordFile(users: Record<string, string>): Promise<string> {
  const file = join(tempDir(), "passwd");
  for (const [user, password] of Object.entries(users)) {
    expect(await pingpong("passwd", "-b", file, user, password).waitExit()).toBe(0);
  }
  return file;
}

function mosquittoPub(port: number, version: "5" | "311", ...args: string[]): Proc {
  return new Proc(["mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-V", version, "-t", "t", "-m", "x", ...args]);
}

describe("passwd", () => {
  test("adds, updates and deletes users, keeping only salted argon2id or bcrypt hashes", async () => {
    const file = join(tempDir(), "passwd");
    const add = pingpong("passwd", "-b", file, "alice", PASSWORD);
    expect(await add.waitExit()).toBe(0);
    expect(add.output()).toContain(`Added user alice to ${file}.`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await pingpong("passwd", "-b", "--algorithm", "bcrypt", file, "bob", PASSWORD).waitExit()).toBe(0);

    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(PASSWORD);
    const [alice, bob] = text.trim().split("\n");
    expect(alice).toMatch(/^alice:\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(bob).toMatch(/^bob:\$2b\$10\$/);
    expect(await Bun.password.verify(PASSWORD, alice!.slice("alice:".length))).toBe(true);
    // Salted: the same password twice gives two different hashes.
    expect(await pingpong("passwd", "-b", file, "carol", PASSWORD).waitExit()).toBe(0);
    const carol = readFileSync(file, "utf8").trim().split("\n")[2]!;
    expect(carol.slice("carol:".length)).not.toBe(alice!.slice("alice:".length));

    // Without -b the password is read from stdin when it is not a terminal.
    const update = new Proc([BINARY, "passwd", file, "alice"], { stdin: "pipe" });
    update.stdin.write("new-password\n");
    update.stdin.end();
    expect(await update.waitExit()).toBe(0);
    expect(update.output()).toContain(`Updated user alice in ${file}.`);
    const updated = readFileSync(file, "utf8").trim().split("\n")[0]!;
    expect(await Bun.password.verify("new-password", updated.slice("alice:".length))).toBe(true);

    const remove = pingpong("passwd", "-D", file, "bob");
    expect(await remove.waitExit()).toBe(0);
    expect(readFileSync(file, "utf8")).not.toContain("bob:");
    const again = pingpong("passwd", "-D", file, "bob");
    expect(await again.waitExit()).toBe(2);
    expect(again.output()).toContain(`no user "bob" in ${file}`);
  });

  testWithPrograms(["script"], "on a terminal it asks twice without echoing the password", async () => {
    const file = join(tempDir(), "passwd");
    // script(1) gives passwd a pseudo-terminal, as a person at a shell would.
    const proc = new Proc(["script", "-qec", `${BINARY} passwd ${file} alice`, "/dev/null"], { stdin: "pipe" });
    const screen = () => Buffer.concat(proc.stdoutChunks).toString();
    const prompted = async (count: number) => {
      const deadline = Date.now() + 10_000;
      while ((screen().match(/password: /gi) ?? []).length < count) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`no prompt ${count}: ${screen()}`);
        await Bun.sleep(20);
      }
    };
    await prompted(1);
    proc.stdin.write("tty-Secret-1\r");
    proc.stdin.flush();
    await prompted(2);
    proc.stdin.write("tty-Secret-1\r");
    proc.stdin.flush();
    expect(await proc.waitExit()).toBe(0);
    expect(screen()).toContain("Reenter password: ");
    expect(screen()).toContain(`Added user alice to ${file}.`);
    expect(screen()).not.toContain("tty-Secret-1");
    const hash = readFileSync(file, "utf8").trim().slice("alice:".length);
    expect(await Bun.password.verify("tty-Secret-1", hash)).toBe(true);
  });

  test("bad input is one line and exit status 2", async () => {
    const file = join(tempDir(), "passwd");
    for (const args of [["passwd"], ["passwd", file], ["passwd", file, "alice", "pw"], ["passwd", "-b", file, "a:b", "pw"], ["passwd", "-b", "--algorithm", "md5", file, "a", "pw"]]) {
      const proc = pingpong(...args);
      expect(await proc.waitExit()).toBe(2);
      expect(proc.lines.filter((line) => line.startsWith("error:"))).toHaveLength(1);
    }
  });
});

describe("the broker with --password-file", () => {
  testWithPrograms(["mosquitto_pub"], "a wrong password gets CONNACK bad user name or password (5 and 3.1.1), and no log line holds it", async () => {
    const file = await passwordFile({ alice: PASSWORD });
    const { proc: broker, port } = await startBroker("--password-file", file, "--verbose");
    const v5 = mosquittoPub(port, "5", "-u", "alice", "-P", "wrong-horse");
    expect(await v5.waitExit()).not.toBe(0);
    expect(v5.output()).toContain("Connection error: Bad User Name or Password");
    const v311 = mosquittoPub(port, "311", "-u", "alice", "-P", "wrong-horse");
    expect(await v311.waitExit()).not.toBe(0);
    expect(v311.output()).toContain("Connection Refused: bad user name or password");
    // An unknown user is refused the same way.
    const stranger = mosquittoPub(port, "5", "-u", "mallory", "-P", "wrong-horse");
    expect(await stranger.waitExit()).not.toBe(0);
    expect(stranger.output()).toContain("Bad User Name or Password");
    const good = mosquittoPub(port, "5", "-u", "alice", "-P", PASSWORD);
    expect(await good.waitExit()).toBe(0);

    await broker.waitForCount(/refused: bad user name or password/, 3);
    await broker.waitFor(/connected\./);
    expect(broker.output()).not.toContain("wrong-horse");
    expect(broker.output()).not.toContain(PASSWORD);
  });

  testWithPrograms(["mosquitto_pub"], "a client without a user name is not authorized, unless --allow-anonymous", async () => {
    const file = await passwordFile({ alice: PASSWORD });
    const { port } = await startBroker("--password-file", file);
    const v5 = mosquittoPub(port, "5");
    expect(await v5.waitExit()).not.toBe(0);
    expect(v5.output()).toContain("Connection error: Not authorized");
    const v311 = mosquittoPub(port, "311");
    expect(await v311.waitExit()).not.toBe(0);
    expect(v311.output()).toContain("Connection Refused: not authorised");

    const { port: open } = await startBroker("--password-file", file, "--allow-anonymous");
    expect(await mosquittoPub(open, "5").waitExit()).toBe(0);
    expect(await mosquittoPub(open, "311").waitExit()).toBe(0);
    const wrong = mosquittoPub(open, "5", "-u", "alice", "-P", "nope");
    expect(await wrong.waitExit()).not.toBe(0); // a user name given is still checked
  });

  test("our echo and ping log in with -u/-P and work end to end", async () => {
    const file = await passwordFile({ echo: "echo-pw", ping: "ping-pw" });
    const { port } = await startBroker("--password-file", file);
    const echo = pingpong("echo", "--port", String(port), "-u", "echo", "-P", "echo-pw");
    await echo.waitFor(/Subscribed/);
    const ping = pingpong("ping", "--port", String(port), "-u", "ping", "-P", "ping-pw", "--count", "2", "--interval", "100ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.output()).toContain("2 probes transmitted, 2 received");
    const refused = pingpong("ping", "--port", String(port), "-u", "ping", "-P", "echo-pw", "--count", "1", "--connect-timeout", "2s");
    expect(await refused.waitExit(15_000)).toBe(3);
  });

  test("a non-loopback listener without authentication refuses to start, in one line", async () => {
    const proc = pingpong("broker", "--host", "0.0.0.0", "--port", "0");
    expect(await proc.waitExit()).toBe(2);
    expect(proc.lines).toHaveLength(1);
    expect(proc.lines[0]).toContain("refusing to listen on 0.0.0.0 without authentication");
  });

  test("the allowed side: --host 0.0.0.0 starts with --allow-anonymous and serves anyone", async () => {
    const { proc: broker, port } = await startBroker("--host", "0.0.0.0", "--allow-anonymous");
    expect(broker.lines).toContain(`Broker listening on 0.0.0.0:${port}.`);
    // Reached through 127.0.0.1 only, though it listens on every interface.
    const sub = pingpong("sub", "-h", "127.0.0.1", "-p", String(port), "-t", "open/door", "-C", "1", "-d");
    await sub.waitFor(/^debug: subscribed to open\/door/);
    expect(await pingpong("pub", "-h", "127.0.0.1", "-p", String(port), "-t", "open/door", "-m", "anyone").waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    expect(sub.stdoutLines).toEqual(["anyone"]);
  });

  test("the allowed side: --host 0.0.0.0 starts with --password-file and requires the password", async () => {
    const file = await passwordFile({ alice: PASSWORD });
    const { proc: broker, port } = await startBroker("--host", "0.0.0.0", "--password-file", file);
    expect(broker.lines).toContain(`Broker listening on 0.0.0.0:${port}.`);
    const common = ["-h", "127.0.0.1", "-p", String(port), "-t", "locked", "-m", "x", "-q", "1", "--connect-timeout", "2s"];
    const anonymous = pingpong("pub", ...common);
    expect(await anonymous.waitExit()).toBe(3);
    expect(anonymous.output()).toMatch(/not authorized/i);
    const wrong = pingpong("pub", ...common, "-u", "alice", "-P", "wrong-horse");
    expect(await wrong.waitExit()).toBe(3);
    expect(wrong.output()).toMatch(/bad user name or password/i);
    expect(await pingpong("pub", ...common, "-u", "alice", "-P", PASSWORD).waitExit()).toBe(0);
  });

  test("an unreadable or malformed password file is one line and exit status 2", async () => {
    const dir = tempDir();
    const broken = join(dir, "broken");
    writeFileSync(broken, "alice:plaintext-password\n");
    for (const [file, message] of [[join(dir, "missing"), "no such file"], [broken, "line 1: the hash of user \"alice\" is not argon2 or bcrypt"]] as const) {
      const proc = pingpong("broker", "--port", "0", "--password-file", file);
      expect(await proc.waitExit()).toBe(2);
      expect(proc.output()).toContain(message);
      expect(proc.output()).not.toContain("plaintext-password");
    }
  });
});
