/** The suite's output: a table for people, one JSON object for programs. No I/O. */
import type { CheckResult, Status } from "./runner";

export function totals(results: readonly CheckResult[]): Record<Status, number> {
  const count: Record<Status, number> = { pass: 0, fail: 0, skip: 0 };
  for (const result of results) count[result.status]++;
  return count;
}

export function summaryLine(results: readonly CheckResult[]): string {
  const count = totals(results);
  return `conformance: ${count.pass} pass, ${count.fail} fail, ${count.skip} skip`;
}

/** "<protocol> <id>", e.g. "5 MQTT-3.1.2-4": one statement of one protocol version. */
export const statementKey = (result: Pick<CheckResult, "protocol" | "id">): string => `${result.protocol} ${result.id}`;

/** Distinct statements checked: an id counts once per protocol version it was checked under. */
export function statementCount(results: readonly CheckResult[]): number {
  return new Set(results.map(statementKey)).size;
}

const TITLE_WIDTH = 70;

/** One row per check (id, title, status, detail), grouped under a heading per protocol and section, then the summary line. */
export function formatTable(results: readonly CheckResult[]): string {
  const idWidth = Math.max(0, ...results.map((result) => result.id.length));
  const titleWidth = Math.min(TITLE_WIDTH, Math.max(0, ...results.map((result) => result.title.length)));
  const lines: string[] = [];
  let heading = "";
  for (const result of results) {
    const section = `MQTT ${result.protocol} §${result.section}`;
    if (section !== heading) {
      heading = section;
      lines.push("", section);
    }
    const title = result.title.length > titleWidth ? `${result.title.slice(0, titleWidth - 1)}…` : result.title;
    lines.push(`  ${result.id.padEnd(idWidth)}  ${title.padEnd(titleWidth)}  ${result.status.padEnd(4)}  ${result.detail}`.trimEnd());
  }
  lines.push("", summaryLine(results));
  return lines.join("\n").replace(/^\n/, "");
}

export function formatJson(url: string, results: readonly CheckResult[]): string {
  return JSON.stringify({ url, results: results.map(({ id, protocol, section, title, status, detail }) => ({ id, protocol, section, title, status, detail })) });
}
