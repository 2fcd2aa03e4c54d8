// Runs a command line in this process through the binary's own entry and returns the UsageError it
// ends with; anything else (it ran, it threw something else, it was still going) is what it got.
import { runCli } from "../../src/commands/main";

/** A line that parsed would go on to connect or listen: it must have thrown long before this. */
const PARSE_DEADLINE_MS = 2_000;

export async function usageErrorOf(argv: string[]): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tooLate = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still running after ${PARSE_DEADLINE_MS} ms`), PARSE_DEADLINE_MS)));
  const outcome = await Promise.race([runCli(argv).then(() => "ran to the end", (error: unknown) => error), tooLate]);
  clearTimeout(timer);
  return outcome;
}
