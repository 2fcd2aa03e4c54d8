// The HTTP endpoint for operators: GET /healthz and GET /metrics (Prometheus text format).
import type { ListenerStarter } from "../server";
import { formatPrometheus, type BrokerMetrics } from "../metrics";
import { bindAll } from "./bind";

export interface HttpListenerOptions {
  host: string;
  port: number;
  metrics: BrokerMetrics;
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
          async fetch(request) {
            const path = new URL(request.url).pathname;
            if (path !== "/healthz" && path !== "/metrics") return new Response("Not found: try /healthz or /metrics\n", { status: 404 });
            if (request.method !== "GET" && request.method !== "HEAD") {
              return new Response("Method not allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } });
            }
            if (path === "/healthz") return new Response("ok\n", { headers: { "Content-Type": "text/plain; charset=utf-8" } });
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
