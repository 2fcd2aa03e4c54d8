/** Runs `stop` once on the first Ctrl-C or SIGTERM; a second one exits at once. */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => void | Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    void stop(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
