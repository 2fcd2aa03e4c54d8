import { SocketStream } from "./socket-stream";

/** A bound listener; TLS and WebSocket listeners in sibling files share this shape. */
export interface Listener {
  /** The port actually bound (the system's choice when asked for 0). */
  readonly port: number;
  /** Stops accepting and closes the connections it accepted. */
  close(): Promise<void>;
}

/** What a listener hands each accepted connection to: aedes.handle, wrapped by the broker role. */
export type ConnectionHandler = (stream: SocketStream) => void;

/** Binding failed; `code` is the errno name (EADDRINUSE, EACCES, ...). */
export class BindError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Plain MQTT over TCP on Bun's native sockets (Bun.listen), with TCP_NODELAY: Nagle would hold
 * small MQTT packets back ~40 ms, and every round trip would pay for it.
 */
export function listenTcp(host: string, port: number, onConnection: ConnectionHandler): Listener {
  const streams = new Set<SocketStream>();
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
          streams.add(stream);
          stream.once("close", () => streams.delete(stream));
          onConnection(stream);
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
    async close() {
      listener.stop();
      for (const stream of streams) stream.destroy();
    },
  };
}
