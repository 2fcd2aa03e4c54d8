// docs/conformance.md from two runs of `mqtt-pingpong conformance --json`. No I/O.

import type { CheckResult as Result } from "../../../src/conformance/runner";
import { statementKey as key, totals } from "../../../src/conformance/report";

export type { Result };

export interface Run {
  name: string;
  results: Result[];
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const mark = (result: Result | undefined) => (result ? { pass: "pass", fail: "**FAIL**", skip: "skip" }[result.status] : "—");

/** The page; `missingNotes` collects differing statements that have no note yet. */
export function conformanceMarkdown(
  ours: Run,
  theirs: Run,
  notes: Record<string, string>,
  deviations: Array<{ id: string; reason: string }>,
  header: string[],
  missingNotes: string[],
): string {
  const theirsByKey = new Map(theirs.results.map((result) => [key(result), result]));
  const lines = [...header, ""];
  const [a, b] = [totals(ours.results), totals(theirs.results)];
  lines.push("## Totals", "", `| | ${ours.name} | ${theirs.name} |`, "|---|---|---|");
  for (const status of ["pass", "fail", "skip"] as const) lines.push(`| ${status} | ${a[status]} | ${b[status]} |`);
  lines.push(`| statements checked | ${ours.results.length} | ${theirs.results.length} |`, "");

  lines.push("## Where the two differ", "");
  const differing = ours.results.filter((result) => theirsByKey.get(key(result))?.status !== result.status);
  if (differing.length === 0) lines.push("Nowhere: every statement has the same result for both.");
  for (const result of differing) {
    const other = theirsByKey.get(key(result));
    const note = notes[key(result)];
    if (!note) missingNotes.push(key(result));
    lines.push(`- **${result.id}** (MQTT ${result.protocol}, ${cell(result.title)}): ${ours.name} ${result.status}, ${theirs.name} ${other?.status ?? "not run"}. ${note ?? "(No note yet: add one to scripts/lib/conformance/notes.ts.)"}`);
  }
  const bothFail = ours.results.filter((result) => result.status === "fail" && theirsByKey.get(key(result))?.status === "fail");
  if (bothFail.length) {
    lines.push("", "Both fail:", "");
    for (const result of bothFail) lines.push(`- **${result.id}** (MQTT ${result.protocol}, ${cell(result.title)}): ${cell(result.detail)}`);
  }
  lines.push("");

  lines.push("## Deliberate deviations", "");
  if (deviations.length === 0) lines.push("None: where our broker fails a statement above, it is a bug to fix, not a choice.");
  for (const deviation of deviations) lines.push(`- **${deviation.id}**: ${deviation.reason}`);
  lines.push("");

  lines.push("## Every statement", "");
  let heading = "";
  for (const result of ours.results) {
    const section = `MQTT ${result.protocol} §${result.section}`;
    if (section !== heading) {
      heading = section;
      lines.push("", `### ${section}`, "", `| Statement | What is checked | ${ours.name} | ${theirs.name} | Detail when failing |`, "|---|---|---|---|---|");
    }
    const other = theirsByKey.get(key(result));
    const detail = [result.status === "fail" ? `${ours.name}: ${result.detail}` : "", other?.status === "fail" ? `${theirs.name}: ${other.detail}` : ""].filter(Boolean).join("; ");
    lines.push(`| ${result.id} | ${cell(result.title)} | ${mark(result)} | ${mark(other)} | ${cell(detail)} |`);
  }
  return lines.join("\n") + "\n";
}
