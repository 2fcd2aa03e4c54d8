// The console's HTTP side: the page and its scripts, the data a page reads (GET, JSON, and one
// server-sent-event stream), and the actions it takes (POST, same origin, with the session's token).
import type { Server } from "bun";
import { log } from "../../log";
import type { BrokerConsole, ConsoleStream } from "./console";
import { ActionError, checkFilter, checkPublish, deleteRetained, LiveSubscriptions, publish } from "./actions";
import { PAGE_ASSETS, loginPage, consolePage } from "./page";
import { ConsoleSessions, hostAllowed, sameOrigin, sessionCookie, type ConsoleSession } from "./session";

const MAX_BODY_BYTES = 1024 * 1024;
/** What only an operator may do (--console-admins); following a filter live is looking, not acting. */
const OPERATOR_ACTIONS = new Set(["/api/publish", "/api/disconnect", "/api/retained/delete"]);
/** Scripts only from this listener, nothing inline: a payload that slipped into the page still could not run. */
const SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  // Not no-referrer: Chromium then sends "Origin: null" with a form POST, and the login would be refused.
  "Referrer-Policy": "same-origin",
  "Cache-Control": "no-store",
};

const text = (body: string, status: number, headers: Record<string, string> = {}) =>
  new Response(body + "\n", { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...headers } });
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...SECURITY_HEADERS } });

export type ConsoleFetch = (request: Request, server: Server<unknown>) => Promise<Response | undefined>;

/** Answers the console's paths; undefined for any other path (the listener's /healthz, /metrics, 404). */
export function consoleRoutes(console: BrokerConsole, sessions: ConsoleSessions, bindHost: string): ConsoleFetch {
  const live = new LiveSubscriptions(console);
  /** Without --password-file, reading needs no login: one shared reader session for pages without a cookie. */
  const reader = sessions.loginRequired ? undefined : sessions.create(null);

  return async (request, server) => {
    const url = new URL(request.url);
    const path = url.pathname;
    const isConsolePath = path === "/" || path === "/login" || path === "/logout" || path.startsWith("/console/") || path.startsWith("/api/");
    if (!isConsolePath) return undefined;
    if (!hostAllowed(request.headers.get("host"), bindHost)) return text("Host not allowed", 421);
    const asset = PAGE_ASSETS.get(path);
    if (asset) return new Response(asset.body, { headers: { "Content-Type": asset.type, ...SECURITY_HEADERS } });

    if (request.method === "POST") {
      if (!sameOrigin(request)) return text("Cross-origin request refused", 403);
      if (path === "/login") return login(request, sessions, server.requestIP(request)?.address);
    } else if (request.method !== "GET" && request.method !== "HEAD") {
      return text("Method not allowed", 405, { Allow: "GET, HEAD, POST" });
    }

    let session = sessions.find(request);
    if (path === "/") {
      if (!session && sessions.loginRequired) return new Response(loginPage(url.searchParams.has("failed")), { headers: { "Content-Type": "text/html; charset=utf-8", ...SECURITY_HEADERS } });
      const cookie: Record<string, string> = session ? {} : { "Set-Cookie": sessionCookie((session = sessions.create(null))) };
      return new Response(consolePage(session, sessions.mayAct(session)), { headers: { "Content-Type": "text/html; charset=utf-8", ...SECURITY_HEADERS, ...cookie } });
    }
    if (request.method === "GET" || request.method === "HEAD") {
      session ??= reader;
      if (!session) return text("Log in first (a user of the broker's --password-file)", 401);
      return read(path, request, server, session);
    }
    // POST: a session of this browser, and the token of its page.
    if (!session || request.headers.get("x-console-token") !== session.token) return text("Missing or wrong session token: reload the page", 403);
    if (OPERATOR_ACTIONS.has(path) && !sessions.mayAct(session)) return text(`Read-only: ${session.user} is not among the broker's --console-admins`, 403);
    if (path === "/logout") {
      live.stop(session);
      sessions.end(session);
      return new Response(null, { status: 303, headers: { Location: "/", "Set-Cookie": sessionCookie(undefined) } });
    }
    let body: Record<string, unknown>;
    try {
      if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) throw new ActionError("request too large");
      body = (await request.json()) as Record<string, unknown>;
      if (typeof body !== "object" || body === null) throw new ActionError("a JSON object expected");
      return json(await act(path, body, session));
    } catch (error) {
      if (error instanceof ActionError || error instanceof SyntaxError) return json({ error: error.message }, 400);
      return json({ error: (error as Error).message }, 500);
    }
  };

  async function read(path: string, request: Request, server: Server<unknown>, session: ConsoleSession): Promise<Response> {
    if (path === "/api/state") return json(await console.state());
    if (path === "/api/clients") return json(console.clients.rows());
    if (path.startsWith("/api/clients/")) {
      const detail = console.clients.detail(decodeURIComponent(path.slice("/api/clients/".length)));
      return detail ? json(detail) : json({ error: "no such client connected" }, 404);
    }
    if (path === "/api/events") return events(request, server, session);
    return text("Not found", 404);
  }

  async function act(path: string, body: Record<string, unknown>, session: ConsoleSession): Promise<unknown> {
    const aedes = console.aedes;
    if (!aedes) throw new ActionError("the broker is not running");
    const who = `Console${session.user === null ? "" : ` (${session.user})`}`;
    switch (path) {
      case "/api/publish": {
        const request = checkPublish(body);
        await publish(aedes, request);
        log.info(`${who}: published ${request.payload.length} character(s) to ${request.topic} (QoS ${request.qos}${request.retain ? ", retained" : ""}).`);
        return { ok: true };
      }
      case "/api/disconnect": {
        const id = String(body.clientId ?? "");
        if (!console.clients.disconnect(id)) throw new ActionError(`no client "${id}" is connected`);
        log.info(`${who}: disconnected client ${id}.`);
        return { ok: true };
      }
      case "/api/retained/delete": {
        const deleted = await deleteRetained(aedes, String(body.topic ?? ""), body.recursive === true);
        for (const topic of deleted) console.topicStats()?.clearRetained(topic);
        log.info(`${who}: deleted ${deleted.length} retained message(s) ${body.recursive === true ? "under" : "of"} ${String(body.topic)}.`);
        return { deleted };
      }
      case "/api/subscribe":
        if (body.filter === null || body.filter === "") live.stop(session);
        else live.follow(session, checkFilter(body.filter));
        return { ok: true };
      default:
        throw new ActionError(`no action ${path}`);
    }
  }

  function events(request: Request, server: Server<unknown>, session: ConsoleSession): Response {
    // The stream lives as long as the page: no idle timeout (a tick goes out every second anyway).
    server.timeout(request, 0);
    const encoder = new TextEncoder();
    let detach: (() => void) | undefined;
    const stop = () => {
      detach?.();
      detach = undefined;
    };
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const stream: ConsoleStream = {
          session,
          send(event, data) {
            // A page that stopped reading is skipped rather than buffered for.
            if ((controller.desiredSize ?? 0) < -64) return;
            try {
              controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
            } catch {
              stop();
            }
          },
        };
        detach = console.addStream(stream);
        stream.send("hello", { user: session.user });
      },
      cancel: stop,
    });
    request.signal.addEventListener("abort", stop);
    return new Response(body, { headers: { "Content-Type": "text/event-stream", ...SECURITY_HEADERS } });
  }
}

async function login(request: Request, sessions: ConsoleSessions, address: string | undefined): Promise<Response> {
  const form = await request.formData().catch(() => undefined);
  const session = form ? await sessions.login(String(form.get("user") ?? ""), String(form.get("password") ?? ""), address) : undefined;
  if (!session) return new Response(null, { status: 303, headers: { Location: "/?failed", ...SECURITY_HEADERS } });
  return new Response(null, { status: 303, headers: { Location: "/", "Set-Cookie": sessionCookie(session), ...SECURITY_HEADERS } });
}
