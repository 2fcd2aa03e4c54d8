import { expect, test } from "bun:test";
import { conformanceMarkdown, type Run } from "../../scripts/lib/conformance/markdown";
import { checks } from "../../src/conformance/checks/index";
import { formatJson, formatTable, statementCount, summaryLine } from "../../src/conformance/report";
import type { CheckResult } from "../../src/conformance/runner";
import { parseTarget, TargetError } from "../../src/conformance/target";

const results: CheckResult[] = [
  { id: "MQTT-3.1.0-1", protocol: "3.1.1", section: "3.1", title: "The first packet must be CONNECT", status: "pass", detail: "closed" },
  { id: "MQTT-3.1.0-1", protocol: "5", section: "3.1", title: "The first packet must be CONNECT", status: "fail", detail: "kept open" },
  { id: "MQTT-3.3.5-2", protocol: "3.1.1", section: "3.3", title: "Unauthorized PUBLISH", status: "skip", detail: "needs --expect-denied-topic" },
];

test("the table groups by protocol and section and ends with the totals line", () => {
  const table = formatTable(results);
  const lines = table.split("\n");
  expect(lines.at(-1)).toBe("conformance: 1 pass, 1 fail, 1 skip");
  expect(lines.filter((line) => line.startsWith("MQTT "))).toEqual(["MQTT 3.1.1 §3.1", "MQTT 5 §3.1", "MQTT 3.1.1 §3.3"]);
  expect(table).toMatch(/MQTT-3\.1\.0-1 +The first packet must be CONNECT +fail +kept open/);
  expect(summaryLine([])).toBe("conformance: 0 pass, 0 fail, 0 skip");
});

test("--json is one object with the url and every result's six fields", () => {
  const parsed = JSON.parse(formatJson("mqtt://127.0.0.1:1883", results));
  expect(parsed.url).toBe("mqtt://127.0.0.1:1883");
  expect(parsed.results[1]).toEqual({ id: "MQTT-3.1.0-1", protocol: "5", section: "3.1", title: "The first packet must be CONNECT", status: "fail", detail: "kept open" });
  expect(statementCount(results)).toBe(3);
});

test("every check is a distinct statement of one protocol version, with a spec id and a section that matches it", () => {
  const keys = checks.map((check) => `${check.protocol} ${check.id}`);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.length).toBeGreaterThanOrEqual(150);
  for (const check of checks) {
    expect(check.id).toMatch(/^MQTT-\d+\.\d+(\.\d+)?-\d+$/);
    expect(check.id.startsWith(`MQTT-${check.section}.`)).toBe(true);
  }
});

test("--url: mqtt, mqtts, ws and wss with default ports, IPv6 literals, a WebSocket path; anything else is refused", () => {
  expect(parseTarget("mqtt://localhost")).toMatchObject({ host: "localhost", port: 1883, tls: false });
  expect(parseTarget("mqtt://localhost").webSocketPath).toBeUndefined();
  expect(parseTarget("mqtts://broker.example:8884", true)).toMatchObject({ host: "broker.example", port: 8884, tls: true, insecure: true });
  expect(parseTarget("mqtt://[::1]:1999")).toMatchObject({ host: "::1", port: 1999 });
  expect(parseTarget("ws://localhost:9001")).toMatchObject({ host: "localhost", port: 9001, tls: false, webSocketPath: "/mqtt" });
  expect(parseTarget("wss://broker.example/ws")).toMatchObject({ tls: true, webSocketPath: "/ws" });
  expect(() => parseTarget("http://localhost:9001")).toThrow(TargetError);
  expect(() => parseTarget("not a url")).toThrow(TargetError);
});

test("docs/conformance.md: a note for each statement where the brokers differ, and the notes that are missing", () => {
  const ours: Run = { name: "ours", results };
  const theirs: Run = { name: "theirs", results: results.map((result) => ({ ...result, status: "pass" as const })) };
  const missing: string[] = [];
  const page = conformanceMarkdown(ours, theirs, { "5 MQTT-3.1.0-1": "Theirs is right." }, [], ["# Title"], missing);
  expect(page).toContain("- **MQTT-3.1.0-1** (MQTT 5, The first packet must be CONNECT): ours fail, theirs pass. Theirs is right.");
  expect(missing).toEqual(["3.1.1 MQTT-3.3.5-2"]);
  expect(page).toContain("| pass | 1 | 3 |");
  expect(page).toContain("None: where our broker fails");
});
