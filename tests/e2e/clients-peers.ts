// Peers for the client tests: TLS files made by openssl, and an MQTT 3.1.1-only broker front.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readVariableByteInteger } from "../../src/core/variable-byte-integer";

export interface TlsFiles {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr}`);
}

/** A throw-away CA, a server certificate for localhost and 127.0.0.1, and a client certificate. */
export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), "pingpong-tls-"));
  const days = ["-days", "2"];
  openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", ...days, "-subj", "/CN=mqtt-pingpong test CA");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", ...days, "-extfile", "server.ext");
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=pingpong-client");
  openssl(dir, "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt", ...days);
  // Debian's mosquitto drops root for its own user before it reads these files.
  readableByAll(dir);
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.crt"),
    clientKey: join(dir, "client.key"),
  };
}

/**
 * An MQTT 3.1.1-only broker: a front on loopback that answers a protocol level 5 CONNECT with the
 * 3.1.1 refusal (CONNACK return code 0x01, unacceptable protocol version) and closes, as the 3.1.1
 * spec requires, and pipes every other connection to the real broker behind it.
 */
export async function startMqtt311Front(brokerPort: number): Promise<{ port: number; refusedV5: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let refused = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      const cursor = { pos: 0 };
      readVariableByteInteger(first, 1, first.length, cursor); // the remaining length, after the fixed header byte
      const level = first[cursor.pos + 6]; // 00 04 'M' 'Q' 'T' 'T' level
      if (level === 5) {
        refused++;
        socket.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
        return;
      }
      const upstream = connect(brokerPort, "127.0.0.1", () => {
        upstream.write(first);
        socket.pipe(upstream).pipe(socket);
      });
      sockets.add(upstream);
      upstream.on("close", () => socket.destroy());
      upstream.on("error", () => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return {
    port: (server.address() as { port: number }).port,
    refusedV5: () => refused,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Makes a throw-away directory and its files readable by every user (mosquitto runs as its own). */
export function readableByAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
}
