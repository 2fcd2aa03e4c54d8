// A TCP proxy in front of a server that holds back the server's bytes on a connection for `delayMs`
// whenever they contain `marker` (and everything after them on that connection, to keep the order).
// The cluster tests use it to make one node hear Redis's pub/sub later than its other replies.
import { connect, createServer, type Server, type Socket } from "node:net";

export async function startDelayingProxy(targetPort: number, marker: string, delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    // Server to client: each chunk after the one before, held back when it carries the marker.
    let previous = Promise.resolve();
    upstream.on("data", (chunk: Buffer) => {
      const wait = chunk.includes(marker) ? delayMs : 0;
      previous = previous.then(() => new Promise((resolve) => setTimeout(resolve, wait))).then(() => {
        if (!client.destroyed) client.write(chunk);
      });
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", closeBoth).on("error", closeBoth);
    upstream.on("close", closeBoth).on("error", closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
