// bench over mqtts:// verifies the broker's certificate as every client does, and honours
// --cafile, --insecure, --cert and --key (it once accepted any certificate and ignored them).
import { beforeAll, describe, expect } from "bun:test";
import { makeTlsFiles, type TlsFiles } from "./clients-peers";
import { freePort, hasProgram, pingpong, startBroker, testWithPrograms } from "./harness";

let files: TlsFiles;
beforeAll(() => {
  if (hasProgram("openssl")) files = makeTlsFiles();
});

async function tlsBrokerUrl(...extra: string[]): Promise<string> {
  const tlsPort = await freePort();
  await startBroker("--tls-port", String(tlsPort), "--cert", files.serverCert, "--key", files.serverKey, ...extra);
  return `mqtts://localhost:${tlsPort}`;
}

/** A two-connection `bench conn` run: exit status and output. */
async function benchConn(url: string, ...flags: string[]): Promise<{ status: number; output: string }> {
  const bench = pingpong("bench", "conn", "--url", url, "--connections", "2", "--duration", "0s", "--connect-timeout", "5s", ...flags);
  const status = await bench.waitExit(30_000);
  return { status, output: bench.output() };
}

describe("bench over TLS", () => {
  testWithPrograms(["openssl"], "refuses a broker certificate from an unknown CA; --cafile or --insecure lets it through", async () => {
    const url = await tlsBrokerUrl();
    const refused = await benchConn(url);
    expect(refused.status).toBe(3);
    expect(refused.output).toMatch(/TLS failed: .*certificate/);
    expect(refused.output).toContain("connected 0, failed 2");

    for (const trust of [["--cafile", files.caCert], ["--insecure"]]) {
      const accepted = await benchConn(url, ...trust);
      expect({ trust, status: accepted.status }).toEqual({ trust, status: 0 });
      expect(accepted.output).toContain("connected 2, failed 0");
    }
  });

  testWithPrograms(["openssl"], "latency over mqtts:// with --cafile measures round trips", async () => {
    const url = await tlsBrokerUrl();
    const bench = pingpong("bench", "latency", "--url", url, "--cafile", files.caCert, "--duration", "1s", "--warmup", "0s", "--json");
    expect(await bench.waitExit(30_000)).toBe(0);
    const result = JSON.parse(bench.stdoutLines[0]!);
    expect(result).toMatchObject({ scenario: "latency", lost: 0 });
    expect(result.latency.count).toBeGreaterThan(0);
  });

  testWithPrograms(["openssl"], "presents --cert and --key to a broker that requires a client certificate", async () => {
    const url = await tlsBrokerUrl("--cafile", files.caCert, "--require-certificate");
    const without = await benchConn(url, "--cafile", files.caCert);
    expect(without.status).toBe(3);
    const withCert = await benchConn(url, "--cafile", files.caCert, "--cert", files.clientCert, "--key", files.clientKey);
    expect(withCert.status).toBe(0);
    expect(withCert.output).toContain("connected 2, failed 0");
  });

  testWithPrograms([], "TLS flags with a plain mqtt:// URL are a usage error", async () => {
    const bench = pingpong("bench", "conn", "--url", "mqtt://127.0.0.1:1", "--cafile", "/dev/null");
    expect(await bench.waitExit()).toBe(2);
    expect(bench.output()).toContain("need an mqtts:// --url");
  });
});
