// MQTT over TLS (mqtts://, usually port 8883).
import tls from "node:tls";
import { log } from "../../log";
import type { ListenerStarter } from "../server";
import { bindAll, listenNet } from "./bind";

export interface TlsListenerOptions {
  host: string;
  port: number;
  /** PEM text, not file names: the command reads the files and reports their errors. */
  cert: string;
  key: string;
  /** CA certificates that client certificates must chain to. */
  ca?: string;
  /** Refuse clients without a valid certificate (signed by `ca`). */
  requireCertificate: boolean;
}

export function tlsListener(options: TlsListenerOptions): ListenerStarter {
  return (accept) =>
    bindAll(
      options.host,
      options.port,
      (host, port) => {
        const server = tls.createServer(
          {
            cert: options.cert,
            key: options.key,
            ca: options.ca,
            requestCert: options.requireCertificate,
            rejectUnauthorized: options.requireCertificate,
          },
          (socket) => {
            // Nagle would hold small MQTT packets back ~40 ms; every round trip pays for it.
            socket.setNoDelay(true);
            accept(socket);
          },
        );
        server.on("tlsClientError", (error) => log.debug(`TLS handshake failed: ${error.message}`));
        return listenNet(server, host, port);
      },
      (address) => `mqtts://${address}`,
    );
}
