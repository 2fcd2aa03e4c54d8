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

/** Distinct statements checked: an id counts once per protocol version it was checked under. */
export function statementCount(results: readonly CheckResult[]): number {
  return new Set(results.map((result) => `${result.protocol} ${result.id}`)).size;
}

/** One row per check, grouped by protocol and section, then the summary line. */
export function formatTable(results: readonly CheckResult[]): string {
  const rows = results.map((result) => [`MQTT ${result.protocol}`, result.id, result.status, result.title, result.detail]);
  const widths = [8, 0, 4, 0].map((min, column) => Math.max(min, ...rows.map((row) => row[column]!.length)));
  widths[3] = Math.min(widths[3]!, 70);
  const lines: string[] = [];
  let section = "";
  for (const [index, row] of rows.entries()) {
    const result = results[index]!;
    const heading = `MQTT ${result.protocol} §${result.section}`;
    if (heading !== section) {
      section = heading;
      lines.push("", heading);
    }
    const title = row[3]!.length > widths[3]! ? `${row[3]!.slice(0, widths[3]! - 1)}…` : row[3]!;
    lines.push(`  ${row[1]!.padEnd(widths[1]!)}  ${row[2]!.padEnd(4)}  ${title.padEnd(widths[3]!)}  ${row[4]}`.trimEnd());
  }
  lines.push("", summaryLine(results));
  return lines.join("\n").replace(/^\n/, "");
}

export function formatJson(url: string, results: readonly CheckResult[]): string {
  return JSON.stringify({ url, results: results.map(({ id, protocol, section, title, status, detail }) => ({ id, protocol, section, title, status, detail })) });
}
