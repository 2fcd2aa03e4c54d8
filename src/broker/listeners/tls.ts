// MQTT over TLS (mqtts://, usually port 8883).
import tls from "node:tls";
import { log } from "../../log";
import type { ListenerStarter } from "../server";
import { bindAll, listenNet } from "./bind";

/** PEM text, not file names: the command reads the files and reports their errors. */
export interface TlsPem {
  cert: string;
  key: string;
  /** CA certificates that client certificates must chain to. */
  ca?: string;
}

/** The certificate and key the TLS listeners serve; `replace` hands new handshakes new ones (SIGHUP). */
export class TlsCredentials {
  private readonly servers = new Set<tls.Server>();

  constructor(private pem: TlsPem) {}

  get current(): TlsPem {
    return this.pem;
  }

  serve(server: tls.Server): void {
    this.servers.add(server);
    server.once("close", () => this.servers.delete(server));
  }

  /** Connections already open keep the certificate they shook hands with. */
  replace(pem: TlsPem): void {
    for (const server of this.servers) server.setSecureContext({ cert: pem.cert, key: pem.key, ca: pem.ca });
    this.pem = pem;
  }
}

export interface TlsListenerOptions {
  host: string;
  port: number;
  credentials: TlsCredentials;
  /** Refuse clients without a valid certificate (signed by `ca`). */
  requireCertificate: boolean;
  /** A socket that has not finished its handshake by then is closed (--idle-timeout). */
  handshakeTimeoutMs: number;
}

export function tlsListener(options: TlsListenerOptions): ListenerStarter {
  return (accept) =>
    bindAll(
      options.host,
      options.port,
      (host, port) => {
        const { cert, key, ca } = options.credentials.current;
        const server = tls.createServer(
          {
            cert,
            key,
            ca,
            requestCert: options.requireCertificate,
            rejectUnauthorized: options.requireCertificate,
            handshakeTimeout: options.handshakeTimeoutMs,
          },
          (socket) => {
            // Nagle would hold small MQTT packets back ~40 ms; every round trip pays for it.
            socket.setNoDelay(true);
            accept(socket);
          },
        );
        options.credentials.serve(server);
        // Bun reports a failed or timed-out handshake here but leaves the socket open (Node closes it):
        // a client that never finishes its handshake would hold a descriptor for ever.
        server.on("tlsClientError", (error, socket) => {
          log.debug(`TLS handshake failed: ${error.message}`);
          socket?.destroy();
        });
        return listenNet(server, host, port);
      },
      (address) => `mqtts://${address}`,
    );
}
