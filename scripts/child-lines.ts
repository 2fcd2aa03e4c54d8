// The lines a child process writes, read as they come (so its pipe never fills), and a way to wait for one.
// onLine, when given, sees each line with the time (performance.now()) its chunk was read.
export function childLines(stream: ReadableStream<Uint8Array>, onLine?: (line: string, readAtMs: number) => void) {
  const seen: string[] = [];
  let wake = () => {};
  (async () => {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      const readAtMs = performance.now();
      const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = parts.pop()!;
      seen.push(...parts);
      if (onLine) for (const line of parts) onLine(line, readAtMs);
      wake();
    }
  })();
  const waitFor = async (pattern: RegExp, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = seen.find((line) => pattern.test(line));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}`);
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), Bun.sleep(200)]);
    }
  };
  return { seen, waitFor };
}
