// The lines a child process writes, read as they come (so its pipe never fills), and a way to wait for one.
export function childLines(stream: ReadableStream<Uint8Array>) {
  const seen: string[] = [];
  let wake = () => {};
  (async () => {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = parts.pop()!;
      seen.push(...parts);
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
