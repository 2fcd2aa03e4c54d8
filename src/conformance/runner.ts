/** Runs checks a few at a time, each with its own deadline, and collects one result per check. */
import { connect } from "./codec/encode";
import { CheckContext, KEEP_ALIVE_S, type Check, type SuiteSettings } from "./check";
import { Connection } from "./connection";
import { CheckFailed, CheckSkipped } from "./verdict";

export type Status = "pass" | "fail" | "skip";

export interface CheckResult {
  id: string;
  protocol: Check["protocol"];
  section: string;
  title: string;
  status: Status;
  detail: string;
}

export interface RunOptions {
  /** Checks running at once. */
  concurrency: number;
  /** A check with no verdict by then fails. */
  checkTimeoutMs: number;
}

/** Thrown when the broker cannot be reached (or refuses our plain CONNECT), before any check runs. */
export class BrokerUnreachable extends Error {}

/** One CONNECT with the user's credentials: the broker must answer it before checks make sense. */
export async function probeBroker(settings: SuiteSettings): Promise<void> {
  let connection: Connection;
  try {
    connection = await Connection.open(settings.target, 4, settings.replyMs);
  } catch (error) {
    throw new BrokerUnreachable(`cannot reach ${settings.target.url}: ${(error as Error).message}`);
  }
  try {
    const clientId = `cfprobe${Math.random().toString(36).slice(2, 10)}`;
    connection.write(connect(4, { clientId, keepAlive: KEEP_ALIVE_S, username: settings.username, password: settings.username === undefined ? undefined : settings.password }));
    const connack = await connection.poll("CONNACK", settings.replyMs);
    if (!connack) throw new BrokerUnreachable(`${settings.target.url} accepted a TCP connection but answered no CONNECT within ${settings.replyMs} ms`);
    if (connack.reasonCode !== 0 && !settings.expectations.authRequired) {
      throw new BrokerUnreachable(`${settings.target.url} refused our CONNECT (return code ${connack.reasonCode}); give --username/--password`);
    }
  } finally {
    connection.destroy();
  }
}

export async function runChecks(checks: readonly Check[], settings: SuiteSettings, options: RunOptions): Promise<CheckResult[]> {
  const runId = Math.random().toString(36).slice(2, 8);
  const results: CheckResult[] = new Array(checks.length);
  let next = 0;
  const worker = async () => {
    while (next < checks.length) {
      const index = next++;
      results[index] = await runOne(checks[index]!, settings, `${runId}${index.toString(36)}`, options.checkTimeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return results;
}

async function runOne(check: Check, settings: SuiteSettings, unique: string, timeoutMs: number): Promise<CheckResult> {
  const base = { id: check.id, protocol: check.protocol, section: check.section, title: check.title };
  if (check.needs && settings.expectations[check.needs] === undefined) {
    return { ...base, status: "skip", detail: `needs --expect-${kebab(check.needs)} (a broker setting)` };
  }
  const context = new CheckContext(settings, check.protocol, unique);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`no verdict within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const detail = await Promise.race([check.run(context), deadline]);
    return { ...base, status: "pass", detail: detail ?? "" };
  } catch (error) {
    if (error instanceof CheckSkipped) return { ...base, status: "skip", detail: error.message };
    if (error instanceof CheckFailed) return { ...base, status: "fail", detail: error.message };
    return { ...base, status: "fail", detail: `error: ${(error as Error).message ?? String(error)}` };
  } finally {
    clearTimeout(timer);
    context.closeAll();
    await context.endSessions();
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
