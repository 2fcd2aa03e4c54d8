import { expect, test } from "bun:test";
import { pingpong, startBroker } from "./harness";

test("a second echo with the same client id takes over; the first says so in one line and exits 3", async () => {
  const { proc: broker, port } = await startBroker();
  const first = pingpong("echo", "--port", String(port), "--client-id", "echo-twin", "--quiet");
  await first.waitFor(/Subscribed/);
  const second = pingpong("echo", "--port", String(port), "--client-id", "echo-twin", "--quiet");
  await second.waitFor(/Subscribed/);

  expect(await first.waitExit(10_000)).toBe(3);
  const errors = first.lines.filter((line) => line.startsWith("error:"));
  expect(errors).toEqual([`error: connection to localhost:${port} lost: another client connected with the same client id "echo-twin" and took this session over`]);

  // The new one serves: a ping gets every echo.
  const ping = pingpong("ping", "--port", String(port), "--count", "3", "--interval", "50ms");
  expect(await ping.waitExit(15_000)).toBe(0);
  expect(second.exitCode).toBeNull();
  expect(broker.exitCode).toBeNull();
});

test("a displaced ping prints its statistics and the same one line", async () => {
  const { port } = await startBroker();
  pingpong("echo", "--port", String(port), "--quiet");
  const first = pingpong("ping", "--port", String(port), "--client-id", "ping-twin", "--interval", "50ms");
  await first.waitFor(/seq=2 /);
  const second = pingpong("ping", "--port", String(port), "--client-id", "ping-twin", "--count", "2", "--interval", "50ms");
  expect(await first.waitExit(10_000)).toBe(3);
  expect(first.output()).toContain(`lost: another client connected with the same client id "ping-twin" and took this session over`);
  expect(first.output()).toMatch(/probes transmitted/);
  expect(await second.waitExit(15_000)).toBe(0);
});
