// The HTTP endpoint for operators: GET /healthz, GET /metrics (Prometheus text format), and the
// web console at / (src/broker/console/).
import type { ConsoleFetch } from "../console/routes";
import type { ListenerStarter } from "../server";
import { formatPrometheus, type BrokerMetrics } from "../metrics";
import { bindAll } from "./bind";

export interface HttpListenerOptions {
  host: string;
  port: number;
  metrics: BrokerMetrics;
  /** When set, GET /metrics needs HTTP Basic credentials this accepts (a user of --password-file). */
  checkLogin?: (username: string, password: string, address: string | undefined) => Promise<boolean>;
  /** The web console's paths (src/broker/console/); it does its own login. */
  console?: ConsoleFetch;
}

const loginNeeded = () =>
  new Response("Log in with a user of the broker's --password-file\n", {
    status: 401,
    headers: { "WWW-Authenticate": 'Basic realm="mqtt-pingpong metrics", charset="UTF-8"' },
  });

/** user and password from an `Authorization: Basic ...` header, or undefined. */
export function basicCredentials(header: string | null): { username: string; password: string } | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const text = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = text.indexOf(":");
  return colon < 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** A listener that takes no MQTT connections; it only answers the two GETs. */
export function httpListener(options: HttpListenerOptions): ListenerStarter {
  return () =>
    bindAll(
      options.host,
      options.port,
      async (host, port) => {
        const server = Bun.serve({
          hostname: host,
          port,
          async fetch(request, server) {
            const path = new URL(request.url).pathname;
            if (path !== "/healthz" && path !== "/metrics") {
              const answer = await options.console?.(request, server);
              return answer ?? new Response(`Not found: try ${options.console ? "/, " : ""}/healthz or /metrics\n`, { status: 404 });
            }
            if (request.method !== "GET" && request.method !== "HEAD") {
              return new Response("Method not allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } });
            }
            if (path === "/healthz") return new Response("ok\n", { headers: { "Content-Type": "text/plain; charset=utf-8" } });
            if (options.checkLogin) {
              const credentials = basicCredentials(request.headers.get("authorization"));
              if (!credentials || !(await options.checkLogin(credentials.username, credentials.password, server.requestIP(request)?.address))) return loginNeeded();
            }
            let text: string;
            try {
              text = formatPrometheus(await options.metrics.sample());
            } catch (error) {
              return new Response(`metrics unavailable: ${(error as Error).message}\n`, { status: 503 });
            }
            return new Response(text, { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
          },
        });
        return { port: server.port!, close: async () => void (await server.stop(true)) };
      },
      (address) => `http://${address}`,
    );
}
