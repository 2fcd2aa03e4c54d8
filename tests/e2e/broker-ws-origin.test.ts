// WebSocket Origin (--ws-origin): a browser sends its page's origin on every upgrade, and any page may
// try to reach a broker on loopback; a program sends none. Upgrades from pages not listed are refused.
import { afterAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { freePort, startBroker, stopStartedProcesses, testWithPrograms } from "./harness";
import { connectV5 } from "./mqtt5-client";

afterAll(stopStartedProcesses);

/** Sends a WebSocket upgrade for /mqtt with these extra headers; resolves with the status line. */
function upgradeStatus(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
      socket.write(
        `GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n${extra}\r\n`,
      );
    });
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n");
      if (end >= 0) {
        socket.destroy();
        resolve(text.slice(0, end));
      }
    });
    socket.on("error", reject);
  });
}

async function wsBroker(...flags: string[]) {
  const wsPort = await freePort();
  const broker = await startBroker("--ws-port", String(wsPort), ...flags);
  return { ...broker, wsPort };
}

describe("--ws-origin", () => {
  test("by default an upgrade from any web page is refused with 403; one without Origin (a program) is accepted", async () => {
    const { wsPort, proc } = await wsBroker();
    expect(await upgradeStatus(wsPort, { Origin: "https://evil.example" })).toBe("HTTP/1.1 403 Forbidden");
    expect(await upgradeStatus(wsPort, { Origin: "http://localhost:8080" })).toBe("HTTP/1.1 403 Forbidden");
    expect(await upgradeStatus(wsPort, { Origin: "null" })).toBe("HTTP/1.1 403 Forbidden");
    expect(await upgradeStatus(wsPort, {})).toBe("HTTP/1.1 101 Switching Protocols");
    await proc.waitFor(/Refused a WebSocket from a page at https:\/\/evil\.example \(not in --ws-origin\)/);
    // MQTT.js in a program sends no Origin: it works as before.
    const { client } = await connectV5(`ws://127.0.0.1:${wsPort}/mqtt`);
    await client.subscribeAsync("origin/t");
    await client.endAsync();
  });

  test("listed origins are let in, others still refused; * lets every page in", async () => {
    const { wsPort } = await wsBroker("--ws-origin", "http://localhost:8080,https://dash.example");
    expect(await upgradeStatus(wsPort, { Origin: "http://localhost:8080" })).toBe("HTTP/1.1 101 Switching Protocols");
    expect(await upgradeStatus(wsPort, { Origin: "https://dash.example" })).toBe("HTTP/1.1 101 Switching Protocols");
    expect(await upgradeStatus(wsPort, { Origin: "http://localhost:8081" })).toBe("HTTP/1.1 403 Forbidden");
    const any = await wsBroker("--ws-origin", "*");
    expect(await upgradeStatus(any.wsPort, { Origin: "https://evil.example" })).toBe("HTTP/1.1 101 Switching Protocols");
  });

  test("a bad --ws-origin, or one without --ws-port, is one line and exit 2", async () => {
    const { pingpong } = await import("./harness");
    const bad = pingpong("broker", "--port", String(await freePort()), "--ws-port", String(await freePort()), "--ws-origin", "localhost:8080");
    expect(await bad.waitExit()).toBe(2);
    expect(bad.output()).toContain("--ws-origin:");
    const alone = pingpong("broker", "--port", String(await freePort()), "--ws-origin", "*");
    expect(await alone.waitExit()).toBe(2);
    expect(alone.output()).toContain("--ws-origin needs --ws-port");
  });

  testWithPrograms(["chromium"], "a real browser page served from elsewhere cannot connect by default, and can once its origin is listed", async () => {
    const result = async (wsPort: number, pagePort: number) => {
      let report: (text: string) => void = () => {};
      const reported = new Promise<string>((resolve) => (report = resolve));
      const page = Bun.serve({
        hostname: "127.0.0.1",
        port: pagePort,
        fetch(request) {
          const url = new URL(request.url);
          if (url.pathname === "/report") {
            report(url.searchParams.get("result") ?? "");
            return new Response("ok");
          }
          const script = `const ws = new WebSocket("ws://127.0.0.1:${wsPort}/mqtt", "mqtt");
            ws.onopen = () => fetch("/report?result=open");
            ws.onerror = () => fetch("/report?result=refused");`;
          return new Response(`<html><body><script>${script}</script></body></html>`, { headers: { "Content-Type": "text/html" } });
        },
      });
      const browser = Bun.spawn(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + (await import("node:fs")).mkdtempSync("/tmp/chromium-"), `http://127.0.0.1:${pagePort}/`], { stdout: "ignore", stderr: "ignore" });
      try {
        const timeout = Bun.sleep(30_000).then(() => "no report within 30 s");
        return await Promise.race([reported, timeout]);
      } finally {
        browser.kill();
        await browser.exited;
        page.stop(true);
      }
    };
    const pagePort = await freePort();
    const closed = await wsBroker();
    expect(await result(closed.wsPort, pagePort)).toBe("refused");
    const open = await wsBroker("--ws-origin", `http://127.0.0.1:${pagePort}`);
    expect(await result(open.wsPort, pagePort)).toBe("open");
  }, 90_000);
});
