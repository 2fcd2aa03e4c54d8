import type { Duplex } from "node:stream";
import type { Bound } from "./bind";
import { SocketStream } from "./socket-stream";

/** Binding failed; `code` is the errno name (EADDRINUSE, EACCES, ...), as bindAll expects. */
export class BindError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Plain MQTT over TCP on one address, on Bun's native sockets (Bun.listen) rather than node:net:
 * no node:net stream machinery held by every idle connection, and a batch of writes leaves in one
 * send(2) (docs/performance-log.md, 02a0d3c). Each connection reaches the broker as a SocketStream,
 * the part of a Duplex that aedes uses. TCP_NODELAY is on:
 * Nagle would hold small MQTT packets back ~40 ms, and every round trip would pay for it.
 */
export function listenTcp(host: string, port: number, accept: (stream: Duplex) => void): Bound {
  let listener: Bun.TCPSocketListener<SocketStream | undefined>;
  try {
    listener = Bun.listen<SocketStream | undefined>({
      hostname: host,
      port,
      exclusive: true,
      data: undefined,
      socket: {
        open(socket) {
          socket.setNoDelay(true);
          const stream = new SocketStream(socket);
          socket.data = stream;
          accept(stream as unknown as Duplex);
        },
        data: (socket, chunk) => socket.data?.onData(chunk),
        drain: (socket) => socket.data?.onDrain(),
        end: (socket) => socket.data?.onEnd(),
        close: (socket, error) => socket.data?.onClose(error),
        error: (socket, error) => socket.data?.onClose(error),
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new BindError(code, (error as Error).message);
  }
  return {
    port: listener.port,
    // Stops accepting; the broker closes (or lets finish) the connections it was handed.
    close: async () => listener.stop(),
  };
}
