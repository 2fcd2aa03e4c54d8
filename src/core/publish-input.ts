/** What pub sends: lines cut from a byte stream (-l) and user properties from flags. No I/O here. */

const NEWLINE = 0x0a;

/**
 * Cuts a byte stream into lines for `pub -l`, one message per line without its "\n" (a "\r" before it
 * stays: bytes are sent as they are). Chunks may split a line anywhere; `end()` returns a last line
 * that had no newline.
 */
export class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let index = data.indexOf(NEWLINE); index >= 0; index = data.indexOf(NEWLINE, start)) {
      lines.push(data.subarray(start, index));
      start = index + 1;
    }
    this.rest = Buffer.from(data.subarray(start));
    return lines;
  }

  end(): Buffer | undefined {
    const last = this.rest;
    this.rest = Buffer.alloc(0);
    return last.length ? last : undefined;
  }
}

export class PropertyError extends Error {}

/** `key=value` pairs (repeatable, a key may repeat) into MQTT 5 User Properties. */
export function parseUserProperties(pairs: string[]): Record<string, string | string[]> | undefined {
  if (pairs.length === 0) return undefined;
  const properties: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const index = pair.indexOf("=");
    if (index <= 0) throw new PropertyError(`"${pair}" is not key=value`);
    const key = pair.slice(0, index);
    const value = pair.slice(index + 1);
    const existing = properties[key];
    properties[key] = existing === undefined ? value : [existing, value].flat();
  }
  return properties;
}
