// Who a client is: the user name as client id (no session takeover), the certificate's CN as user
// name (a certificate as the only login), %u/%c patterns that a name cannot widen, and $SYS client ids.
import { beforeAll, describe, expect } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { makeTlsFiles, readableByAll, type TlsFiles } from "./clients-peers";
import { freePort, hasProgram, Proc, pingpong, startBroker, startMosquitto, testWithPrograms } from "./harness";
import { authFiles, mosquittoAs, subscribedAs } from "./acl-setup";
import { connectV5 } from "./mqtt5-client";
import { RawClient } from "./mqtt-raw";

let tlsFiles: TlsFiles;
beforeAll(() => {
  if (hasProgram("openssl")) tlsFiles = makeTlsFiles();
});

const bytesOf = (text: string) => [text.length >> 8, text.length & 0xff, ...Buffer.from(text)];

/** An MQTT 3.1.1 CONNECT of alice's with Clean Session 0, by hand: mqtt-packet refuses to encode one with an empty id. */
function persistentConnectOfAlice(clientId: string): number[] {
  const body = [...bytesOf("MQTT"), 4, 0xc0 /* user name, password, Clean Session 0 */, 0, 60, ...bytesOf(clientId), ...bytesOf("alice"), ...bytesOf("alice-pw")];
  return [0x10, body.length, ...body];
}

/** alice connects with MQTT 3.1.1, Clean Session 0 and `clientId`: the CONNACK's return code. */
async function persistentConnack(port: number, clientId: string): Promise<number> {
  const client = await RawClient.open(port, 4);
  client.sendBytes(persistentConnectOfAlice(clientId));
  const connack = await client.waitFor<any>((p) => p.cmd === "connack");
  client.close();
  return connack.returnCode;
}

describe("--use-username-as-client-id", () => {
  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "bob connecting with alice's client id gets his own session, not alice's queued messages", async () => {
    const files = await authFiles(["alice", "bob", "carol"], "user alice\ntopic readwrite alice/#\nuser bob\ntopic readwrite bob/#\nuser carol\ntopic readwrite #\n");
    const { proc: broker, port } = await startBroker("--password-file", files.passwd, "--acl-file", files.acl, "--use-username-as-client-id");
    // alice's persistent session, whatever id her client sends, is "alice".
    const first = await subscribedAs(broker, port, "311", "alice", "alice/#", "-i", "whatever", "-c", "-q", "1");
    await broker.waitFor(/Client alice subscribed to alice\/# \(/);
    first.kill("SIGTERM");
    await first.waitExit();
    await broker.waitFor(/Client alice disconnected/);
    // Publishers are carol: a second connection of bob's would take over his session (one per user).
    const queued = mosquittoAs("mosquitto_pub", port, "311", "carol", "-t", "alice/inbox", "-m", "for alice only", "-q", "1");
    expect(await queued.waitExit()).toBe(0);
    // bob asks for alice's id and her session: he is "bob", with a session of his own.
    const bob = await subscribedAs(broker, port, "311", "bob", "bob/#", "-i", "alice", "-c", "-q", "1", "-v", "-C", "1", "-W", "15");
    await broker.waitFor(/Client bob subscribed to bob\/# \(/);
    const marker = mosquittoAs("mosquitto_pub", port, "311", "carol", "-t", "bob/marker", "-m", "marker", "-q", "1");
    expect(await marker.waitExit()).toBe(0);
    expect(await bob.waitExit(20_000)).toBe(0);
    expect(bob.stdoutLines).toEqual(["bob/marker marker"]);
    // alice's session is untouched: her queued message waits for her.
    const back = mosquittoAs("mosquitto_sub", port, "311", "alice", "-t", "alice/#", "-i", "alice", "-c", "-q", "1", "-v", "-C", "1", "-W", "15");
    expect(await back.waitExit(20_000)).toBe(0);
    expect(back.stdoutLines).toEqual(["alice/inbox for alice only"]);
  }, 30_000);

  testWithPrograms([], "an MQTT 5 client that sends no client id is told the one it got: its user name", async () => {
    const files = await authFiles(["alice"], "topic readwrite #\n");
    const { url } = await startBroker("--password-file", files.passwd, "--use-username-as-client-id");
    const { client, connack } = await connectV5(url, { clientId: "", username: "alice", password: "alice-pw" });
    await client.endAsync();
    expect(connack.properties?.assignedClientIdentifier).toBe("alice");
  }, 30_000);

  // The user name could be the id, but 3.1.1 says a zero-byte id with Clean Session 0 is refused
  // [MQTT-3.1.3-8], and mosquitto checks that before it looks at the user name.
  testWithPrograms([], "an MQTT 3.1.1 client with no client id and Clean Session 0 is still refused: 0x02 Identifier rejected [MQTT-3.1.3-8]", async () => {
    const files = await authFiles(["alice"], "topic readwrite #\n");
    const { port } = await startBroker("--password-file", files.passwd, "--use-username-as-client-id");
    expect(await persistentConnack(port, "")).toBe(2);
    expect(await persistentConnack(port, "any")).toBe(0); // refused for the empty id, not for the login
  }, 30_000);

  testWithPrograms(["mosquitto", "mosquitto_passwd"], "mosquitto 2.0.11 (use_username_as_clientid true) refuses it the same way", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mosquitto-passwd-"));
    const passwordFile = join(dir, "passwd");
    expect(await new Proc(["mosquitto_passwd", "-b", "-c", passwordFile, "alice", "alice-pw"]).waitExit()).toBe(0);
    readableByAll(dir); // mosquitto started as root reads it as the mosquitto user
    const { port } = await startMosquitto(`allow_anonymous false\npassword_file ${passwordFile}\nuse_username_as_clientid true\n`);
    expect(await persistentConnack(port, "")).toBe(2);
    expect(await persistentConnack(port, "any")).toBe(0);
  }, 30_000);

  testWithPrograms(["mosquitto_pub"], "a client with no user name is not authorized (there is no id to give it)", async () => {
    const files = await authFiles(["alice"], "topic readwrite #\n");
    const { proc: broker, port } = await startBroker("--password-file", files.passwd, "--allow-anonymous", "--use-username-as-client-id");
    const anonymous = new Proc(["mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-t", "t", "-m", "x"]);
    expect(await anonymous.waitExit()).not.toBe(0);
    expect(anonymous.output()).toMatch(/not authori[sz]ed/i);
    await broker.waitFor(/refused: no user name to use as client id/);
  }, 30_000);
});

describe("--use-identity-as-username", () => {
  const tls = (port: number, ...args: string[]) => ["-h", "localhost", "-p", String(port), "--cafile", tlsFiles.caCert, ...args];
  const withCertificate = ["--cert", () => tlsFiles.clientCert, "--key", () => tlsFiles.clientKey];

  testWithPrograms(["openssl", "mosquitto_pub", "mosquitto_sub"], "off loopback, a client certificate is the only login; plain TCP stays closed to anonymous clients", async () => {
    const files = await authFiles([], "user pingpong-client\ntopic readwrite certs/#\n");
    const tlsPort = await freePort();
    const port = await freePort();
    const httpPort = await freePort();
    const broker = pingpong("broker", "--host", "0.0.0.0", "--port", String(port), "--tls-port", String(tlsPort), "--cert", tlsFiles.serverCert, "--key", tlsFiles.serverKey,
      "--cafile", tlsFiles.caCert, "--require-certificate", "--use-identity-as-username", "--acl-file", files.acl, "--http-port", String(httpPort));
    await broker.waitFor(/Broker listening on/);
    const cert = withCertificate.map((part) => (typeof part === "function" ? part() : part));
    const sub = new Proc(["mosquitto_sub", ...tls(tlsPort, ...cert, "-t", "certs/#", "-v", "-C", "1", "-W", "15")]);
    await broker.waitFor(/subscribed to certs\/# \(/);
    // The console's client table shows the user access control decided on, not the name sent.
    const claimed = new Proc(["mosquitto_sub", ...tls(tlsPort, ...cert, "-u", "admin", "-i", "claims-admin", "-t", "certs/#", "-W", "15")]);
    await broker.waitFor(/Client claims-admin subscribed to certs\/# \(/);
    const rows = (await (await fetch(`http://127.0.0.1:${httpPort}/api/clients`)).json()) as Array<{ id: string; user: string | null }>;
    expect(rows.find((row) => row.id === "claims-admin")?.user).toBe("pingpong-client");
    claimed.kill("SIGTERM");
    // The CN "pingpong-client" is the user: its rules apply, whatever user name the CONNECT claims.
    const outside = new Proc(["mosquitto_pub", ...tls(tlsPort, ...cert, "-u", "admin", "-t", "other/x", "-m", "x", "-q", "1")]);
    expect(await outside.waitExit()).toBe(0);
    await broker.waitFor(/may not publish to other\/x; dropped/);
    const inside = new Proc(["mosquitto_pub", ...tls(tlsPort, ...cert, "-u", "admin", "-t", "certs/x", "-m", "by certificate", "-q", "1")]);
    expect(await inside.waitExit()).toBe(0);
    expect(await sub.waitExit(20_000)).toBe(0);
    expect(sub.stdoutLines).toEqual(["certs/x by certificate"]);
    // The plain TCP listener: no certificate, no password file, no --allow-anonymous: refused.
    const plain = new Proc(["mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-u", "pingpong-client", "-t", "certs/x", "-m", "x"]);
    expect(await plain.waitExit()).not.toBe(0);
    expect(plain.output()).toMatch(/not authori[sz]ed/i);
    await broker.waitFor(/refused: no client certificate \(not authorized\)/);
  }, 30_000);

  testWithPrograms(["openssl"], "without --require-certificate it is a usage error (exit 2, one line)", async () => {
    const tlsPort = await freePort();
    const broker = pingpong("broker", "--port", "0", "--tls-port", String(tlsPort), "--cert", tlsFiles.serverCert, "--key", tlsFiles.serverKey, "--use-identity-as-username");
    expect(await broker.waitExit()).toBe(2);
    expect(broker.output()).toContain("--use-identity-as-username needs --require-certificate");
  }, 30_000);
});

describe("pattern rules", () => {
  testWithPrograms(["mosquitto_sub"], "a user named %c with client id # is not granted users/# by `pattern readwrite users/%u/#`", async () => {
    const files = await authFiles(["%c", "alice"], "pattern readwrite users/%u/#\n");
    const { proc: broker, port } = await startBroker("--password-file", files.passwd, "--acl-file", files.acl);
    for (const version of ["311", "5"] as const) {
      const sneaky = mosquittoAs("mosquitto_sub", port, version, "%c", "-i", "#", "-t", "users/#", "-d", "-W", "3");
      await broker.waitFor(/Client # may not subscribe to users\/#; refused/);
      await sneaky.waitExit();
      expect(sneaky.output()).toMatch(/Subscribed \(mid: 1\): 128|Subscribed \(mid: 1\): 135/);
      sneaky.kill();
    }
    // The rule still works for an ordinary name.
    const alice = await subscribedAs(broker, port, "311", "alice", "users/alice/#", "-C", "1", "-W", "15");
    const pub = mosquittoAs("mosquitto_pub", port, "311", "alice", "-t", "users/alice/x", "-m", "own", "-q", "1");
    expect(await pub.waitExit()).toBe(0);
    expect(await alice.waitExit()).toBe(0);
    expect(alice.stdoutLines).toEqual(["own"]);
  }, 30_000);
  // The same check against mosquitto 2.0.11, the reference: %u is filled in once, so the user "%c"
  // (client id x2) is not granted users/x2/#. mosquitto grants the SUBSCRIBE and delivers nothing;
  // we refuse it: either way the first message to arrive is the marker.
  const ONE_PASS_ACL = "topic write users/#\ntopic write marker\npattern readwrite users/%u/#\npattern read marker\n";
  async function firstMessageOfPercentC(port: number): Promise<string> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, username: "%c", password: "%c-pw", clientId: "x2", reconnectPeriod: 0 });
    try {
      const first = new Promise<string>((resolve) => client.once("message", (topic, payload) => resolve(`${topic} ${payload}`)));
      // Refused by us (MQTT.js rejects on SUBACK 0x80), granted by mosquitto: what is delivered decides.
      await client.subscribeAsync("users/x2/#").catch(() => undefined);
      await client.subscribeAsync("marker");
      for (const [topic, message] of [["users/x2/y", "widened"], ["marker", "marker"]]) {
        const pub = new Proc(["mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-V", "311", "-t", topic!, "-m", message!, "-q", "1"]);
        expect(await pub.waitExit()).toBe(0);
      }
      return await first;
    } finally {
      await client.endAsync();
    }
  }

  testWithPrograms(["mosquitto_pub"], "%u is filled in once: the user %c is not granted users/<its client id>/# (our broker)", async () => {
    const files = await authFiles(["%c"], ONE_PASS_ACL);
    const { proc: broker, port } = await startBroker("--password-file", files.passwd, "--acl-file", files.acl, "--allow-anonymous");
    expect(await firstMessageOfPercentC(port)).toBe("marker marker");
  }, 30_000);

  testWithPrograms(["mosquitto", "mosquitto_passwd", "mosquitto_pub"], "%u is filled in once: the same check against mosquitto", async () => {
    const files = await authFiles([], ONE_PASS_ACL);
    const passwd = join(files.dir, "mosquitto-passwd");
    writeFileSync(passwd, "");
    expect(await new Proc(["mosquitto_passwd", "-b", passwd, "%c", "%c-pw"]).waitExit()).toBe(0);
    readableByAll(files.dir);
    const { port } = await startMosquitto(`password_file ${passwd}\nacl_file ${files.acl}\n`);
    expect(await firstMessageOfPercentC(port)).toBe("marker marker");
  }, 30_000);
});

describe("$SYS announcements of client ids under an ACL", () => {
  testWithPrograms(["mosquitto_sub"], "only a rule naming $SYS lets a client read them; `topic read #` does not", async () => {
    const files = await authFiles(["bob", "ops"], "user bob\ntopic read #\ntopic write bob/#\nuser ops\ntopic read $SYS/#\n");
    const { proc: broker, port } = await startBroker("--password-file", files.passwd, "--acl-file", files.acl);
    const refused = mosquittoAs("mosquitto_sub", port, "311", "bob", "-t", "$SYS/#", "-d", "-W", "3");
    await broker.waitFor(/Client \S+ may not subscribe to \$SYS\/#; refused/);
    refused.kill();
    const bob = await subscribedAs(broker, port, "311", "bob", "#", "-v", "-C", "1", "-W", "15");
    const ops = await subscribedAs(broker, port, "311", "ops", "$SYS/+/new/subscribes", "-v", "-C", "2", "-W", "15");
    // A SUBSCRIBE is announced on $SYS/<id>/new/subscribes with the client id (ops's own comes first):
    // ops sees the probe's, bob does not.
    const probe = await subscribedAs(broker, port, "311", "bob", "bob/probe", "-i", "secret-client-id", "-C", "1", "-W", "15");
    expect(await ops.waitExit(20_000)).toBe(0);
    expect(ops.stdoutLines[1]).toContain('"clientId":"secret-client-id"');
    const marker = mosquittoAs("mosquitto_pub", port, "311", "bob", "-t", "bob/probe", "-m", "marker");
    expect(await marker.waitExit()).toBe(0);
    expect(await bob.waitExit(20_000)).toBe(0);
    expect(await probe.waitExit(20_000)).toBe(0);
    expect(bob.stdoutLines).toEqual(["bob/probe marker"]);
  }, 30_000);
});
