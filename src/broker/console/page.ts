// The page's files, bundled into the binary at build time (text imports): no CDN, works offline.
import indexHtml from "./page/index.html" with { type: "text" };
import loginHtml from "./page/login.html" with { type: "text" };
import css from "./page/console.css" with { type: "text" };
import appJs from "./page/app.js" with { type: "text" };
import chartsJs from "./page/charts.js" with { type: "text" };
import formatJs from "./page/format.js" with { type: "text" };
import topicsJs from "./page/topics.js" with { type: "text" };
import clientsJs from "./page/clients.js" with { type: "text" };
import latencyJs from "./page/latency.js" with { type: "text" };
import type { ConsoleSession } from "./session";

const JS = "text/javascript; charset=utf-8";

/** Static files by path. */
export const PAGE_ASSETS = new Map<string, { body: string; type: string }>([
  ["/console/console.css", { body: css, type: "text/css; charset=utf-8" }],
  ["/console/app.js", { body: appJs, type: JS }],
  ["/console/charts.js", { body: chartsJs, type: JS }],
  ["/console/format.js", { body: formatJs, type: JS }],
  ["/console/topics.js", { body: topicsJs, type: JS }],
  ["/console/clients.js", { body: clientsJs, type: JS }],
  ["/console/latency.js", { body: latencyJs, type: JS }],
]);

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The console, with this session's token for its POSTs; a viewer's page has no buttons that act. */
export function consolePage(session: ConsoleSession, mayAct: boolean): string {
  return (indexHtml as unknown as string)
    .replace("{{ROLE}}", mayAct ? "operator" : "viewer")
    .replace("{{TOKEN}}", escapeHtml(session.token))
    .replace("{{USER}}", escapeHtml(session.user ?? ""));
}

export function loginPage(failed: boolean): string {
  return (loginHtml as unknown as string).replace("{{MESSAGE}}", failed ? "Wrong user name or password." : "");
}
