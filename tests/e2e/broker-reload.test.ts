// SIGHUP re-reads the password file, the ACL file and the TLS certificate/key; a bad file keeps the
// old configuration. Each test waits on the broker's reload log line before it checks.
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import tls from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { makeTlsFiles } from "./clients-peers";
import { freePort, pingpong, startBroker, testWithPrograms, type Proc } from "./harness";
import { freePortRange, startRedis } from "./cluster-harness";

const connected: MqttClient[] = [];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "pingpong-reload-"));
}

async function addUser(file: string, user: string): Promise<void> {
  expect(await pingpong("passwd", "-b", file, user, `${user}-pw`).waitExit()).toBe(0);
}

async function login(url: string, user: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { username: user, password: `${user}-pw`, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  connected.push(client);
  return client;
}

/** Resolves false when the broker refuses the login, true when it accepts (and then disconnects). */
async function canLogIn(url: string, user: string): Promise<boolean> {
  try {
    const client = await login(url, user);
    await client.endAsync();
    return true;
  } catch (error) {
    expect(String(error)).toMatch(/bad user ?name or password|not authorized/i);
    return false;
  }
}

/** Sends SIGHUP and waits for the n-th line that says how the reload went. */
async function hangUp(broker: Proc, pattern: RegExp): Promise<string> {
  const before = broker.lines.filter((line) => /SIGHUP: /.test(line)).length;
  process.kill(broker.pid, "SIGHUP");
  const [line] = (await broker.waitForCount(/SIGHUP: /, before + 1)).slice(before);
  expect(line).toMatch(pattern);
  return line!;
}

async function closeAll(): Promise<void> {
  await Promise.all(connected.splice(0).map((client) => client.endAsync(true)));
}

describe("broker SIGHUP", () => {
  test("a user added after start can connect after SIGHUP; a removed one cannot; a connected one stays", async () => {
    const dir = tempDir();
    const passwd = join(dir, "passwd");
    await addUser(passwd, "alice");
    const { proc: broker, url } = await startBroker("--password-file", passwd);
    try {
      const alice = await login(url, "alice");
      expect(await canLogIn(url, "bob")).toBe(false);

      await addUser(passwd, "bob");
      await addUser(passwd, "carol");
      expect(await pingpong("passwd", "-D", passwd, "alice").waitExit()).toBe(0);
      // Not read yet: the file changed, the broker's users did not.
      expect(await canLogIn(url, "bob")).toBe(false);
      await hangUp(broker, /^SIGHUP: reloaded password file \(2 users\)\.$/);

      expect(await canLogIn(url, "bob")).toBe(true);
      expect(await canLogIn(url, "carol")).toBe(true);
      expect(await canLogIn(url, "alice")).toBe(false);
      // alice, connected before, is still connected and can still publish and receive.
      await alice.subscribeAsync("still/here");
      const back = new Promise<string>((resolve) => alice.once("message", (_topic, payload) => resolve(payload.toString())));
      await alice.publishAsync("still/here", "yes");
      expect(await back).toBe("yes");
      expect(broker.exitCode).toBeNull();
    } finally {
      await closeAll();
    }
  });

  test("a broken or unreadable file logs one error and keeps the old users and rules", async () => {
    const dir = tempDir();
    const passwd = join(dir, "passwd");
    const acl = join(dir, "acl");
    await addUser(passwd, "alice");
    writeFileSync(acl, "user alice\ntopic readwrite alice/#\n");
    const { proc: broker, url } = await startBroker("--password-file", passwd, "--acl-file", acl);
    try {
      // A valid password file beside a broken ACL: neither is taken.
      await addUser(passwd, "bob");
      writeFileSync(acl, "user alice\ntopic readwrite alice/#\ntopic sideways x\n");
      const failed = await hangUp(broker, /^error: SIGHUP: reload failed, keeping the previous configuration: --acl-file .*line 3/);
      expect(failed).toContain(acl);
      expect(await canLogIn(url, "bob")).toBe(false);
      expect(await canLogIn(url, "alice")).toBe(true);

      // An unreadable (here: missing) password file: the same.
      writeFileSync(acl, "user alice\ntopic readwrite alice/#\n");
      rmSync(passwd);
      await hangUp(broker, /^error: SIGHUP: reload failed, keeping the previous configuration: --password-file: cannot read ".*": no such file$/);
      expect(await canLogIn(url, "alice")).toBe(true);
      const errors = broker.lines.filter((line) => /SIGHUP/.test(line));
      expect(errors).toHaveLength(2); // one line per failed reload
      expect(broker.exitCode).toBeNull();
    } finally {
      await closeAll();
    }
  });

  test("an ACL change applies to a connected client's next publish and subscribe", async () => {
    const dir = tempDir();
    const passwd = join(dir, "passwd");
    const acl = join(dir, "acl");
    await addUser(passwd, "alice");
    await addUser(passwd, "bob");
    writeFileSync(acl, "user alice\ntopic readwrite alice/#\ntopic write news/#\nuser bob\ntopic read #\n");
    const { proc: broker, url } = await startBroker("--password-file", passwd, "--acl-file", acl);
    try {
      const alice = await login(url, "alice", { protocolVersion: 5 });
      const bob = await login(url, "bob");
      await bob.subscribeAsync("#");
      const seen: string[] = [];
      bob.on("message", (topic) => seen.push(topic));
      const bobSaw = async (topic: string) => {
        const deadline = Date.now() + 10_000;
        while (!seen.includes(topic)) {
          if (Date.now() > deadline) throw new Error(`bob never received ${topic}; saw ${seen.join(", ")}`);
          await new Promise((resolve) => bob.once("message", resolve));
        }
      };
      await alice.publishAsync("news/1", "a", { qos: 1 });
      await bobSaw("news/1");

      // alice loses news/#; she stays connected.
      writeFileSync(acl, "user alice\ntopic readwrite alice/#\nuser bob\ntopic read #\n");
      await hangUp(broker, /^SIGHUP: reloaded password file \(2 users\), ACL \(2 rules\)\.$/);
      await expect(alice.publishAsync("news/2", "b", { qos: 1 })).rejects.toThrow();
      await broker.waitFor(/may not publish to news\/2; dropped\./);
      await alice.publishAsync("alice/after", "c", { qos: 1 });
      await bobSaw("alice/after");
      expect(seen).not.toContain("news/2");
      // MQTT 5 SUBACK 0x87 (not authorized), which MQTT.js turns into an error.
      await expect(alice.subscribeAsync("news/#")).rejects.toThrow(/Not authorized/);
      expect(alice.connected).toBe(true);
    } finally {
      await closeAll();
    }
  });

  testWithPrograms(["openssl"], "a renewed certificate is served to new TLS connections; the open one keeps working", async () => {
    const first = makeTlsFiles();
    const renewed = makeTlsFiles();
    const dir = tempDir();
    const [cert, key, passwd, acl] = ["server.crt", "server.key", "passwd", "acl"].map((name) => join(dir, name));
    copyFileSync(first.serverCert, cert!);
    copyFileSync(first.serverKey, key!);
    await addUser(passwd!, "alice");
    writeFileSync(acl!, "user alice\ntopic readwrite #\n");
    const tlsPort = await freePort();
    const { proc: broker } = await startBroker("--tls-port", String(tlsPort), "--cert", cert!, "--key", key!, "--password-file", passwd!, "--acl-file", acl!);
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerX509Certificate()!.fingerprint256);
          socket.destroy();
        });
        socket.once("error", reject);
      });
    const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
    try {
      expect(await served()).toBe(fingerprint(first.serverCert));
      const open = await login(`mqtts://127.0.0.1:${tlsPort}`, "alice", { ca: readFileSync(first.caCert), servername: "localhost" });

      copyFileSync(renewed.serverCert, cert!);
      copyFileSync(renewed.serverKey, key!);
      await hangUp(broker, /^SIGHUP: reloaded password file \(1 user\), ACL \(1 rule\), certificate\.$/);
      expect(await served()).toBe(fingerprint(renewed.serverCert));
      // A client that trusts only the new CA connects; the connection made before still works.
      const fresh = await login(`mqtts://127.0.0.1:${tlsPort}`, "alice", { ca: readFileSync(renewed.caCert), servername: "localhost" });
      await fresh.subscribeAsync("tls/check");
      const back = new Promise<string>((resolve) => fresh.once("message", (_topic, payload) => resolve(payload.toString())));
      await open.publishAsync("tls/check", "over the old session");
      expect(await back).toBe("over the old session");
    } finally {
      await closeAll();
    }
  });

  test("a broker started without files logs that there is nothing to reload and keeps running", async () => {
    const { proc: broker, url } = await startBroker();
    await hangUp(broker, /^SIGHUP: nothing to reload/);
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await client.endAsync();
    expect(broker.exitCode).toBeNull();
  });
});

describe("SIGHUP to all and cluster", () => {
  test("all: the broker has nothing to reload, and the probes go on", async () => {
    const all = pingpong("all", "--port", String(await freePort()), "--interval", "100ms");
    await all.waitFor(/seq=2 /);
    await hangUp(all, /^SIGHUP: nothing to reload/);
    // Probes after the signal still come back: the run was not ended.
    const after = all.lines.filter((line) => /seq=\d+ /.test(line)).length;
    await all.waitForCount(/seq=\d+ /, after + 3);
    expect(all.exitCode).toBeNull();
    all.kill("SIGINT");
    expect(await all.waitExit(5_000)).toBe(0);
  });

  testWithPrograms(["redis-server"], "cluster: passes SIGHUP to every node, and each reloads its password file", async () => {
    const dir = tempDir();
    const passwd = join(dir, "passwd");
    await addUser(passwd, "alice");
    const redis = await startRedis();
    const base = await freePortRange(2);
    const cluster = pingpong("cluster", "--nodes", "2", "--base-port", String(base), "--redis", redis.url, "--", "--password-file", passwd);
    try {
      await cluster.waitFor(/Cluster of 2 nodes on ports/, 20_000);
      const urls = [0, 1].map((i) => `mqtt://127.0.0.1:${base + i}`);
      await addUser(passwd, "bob");
      for (const url of urls) expect(await canLogIn(url, "bob")).toBe(false);
      process.kill(cluster.pid, "SIGHUP");
      await cluster.waitFor(/^SIGHUP: sent to 2 of 2 nodes\.$/);
      for (let i = 0; i < 2; i++) await cluster.waitFor(new RegExp(`^\\[${base + i}\\] SIGHUP: reloaded password file \\(2 users\\)\\.$`));
      for (const url of urls) expect(await canLogIn(url, "bob")).toBe(true);
      expect(cluster.exitCode).toBeNull();
      cluster.kill("SIGTERM");
      expect(await cluster.waitExit(15_000)).toBe(0);
    } finally {
      await closeAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
