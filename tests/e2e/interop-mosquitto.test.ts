import { describe, expect } from "bun:test";
import { Proc, pingpong, startBroker, startMosquitto, testWithPrograms } from "./harness";

describe("interoperability with Debian's mosquitto", () => {
  testWithPrograms(["mosquitto"], "our ping and echo work through a mosquitto broker", async () => {
    const { port } = await startMosquitto();
    const echo = pingpong("echo", "--port", String(port));
    await echo.waitFor(/Subscribed/);
    const ping = pingpong("ping", "--port", String(port), "--count", "3", "--interval", "100ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.output()).toContain("3 probes transmitted, 3 received");
  });

  testWithPrograms(["mosquitto_sub"], "mosquitto_sub sees our ping's messages through our broker", async () => {
    const { port } = await startBroker();
    const sub = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", "/ping", "-C", "2", "-v"]);
    const ping = pingpong("ping", "--port", String(port), "--interval", "100ms", "--timeout", "200ms");
    expect(await sub.waitExit(10_000)).toBe(0);
    expect(sub.stdoutLines).toHaveLength(2);
    for (const line of sub.stdoutLines) expect(line).toMatch(/^\/ping \d+\.\d{3}$/);
    ping.kill("SIGINT");
    await ping.waitExit();
  });

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "mosquitto_pub to /ping is echoed on /pong", async () => {
    const { proc: broker, port } = await startBroker();
    const echo = pingpong("echo", "--port", String(port));
    await echo.waitFor(/Subscribed/);
    for (const version of ["mqttv311", "mqttv5"]) {
      const sub = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", "/pong", "-C", "1", "-V", version]);
      await broker.waitFor(new RegExp(`subscribed to /pong`));
      const pub = new Proc(["mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-t", "/ping", "-m", `hello ${version}`, "-V", version]);
      expect(await pub.waitExit()).toBe(0);
      expect(await sub.waitExit()).toBe(0);
      expect(sub.stdoutLines).toEqual([`hello ${version}`]);
      broker.lines.length = 0; // wait for the next subscription afresh
    }
  });
});
