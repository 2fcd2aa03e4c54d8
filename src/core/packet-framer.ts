// Where MQTT packets begin and end in a byte stream read in chunks, so a reader that sees every chunk
// from the connection's first byte knows which packets a chunk holds whole. Pure; no I/O.
import { INCOMPLETE, MALFORMED, readVariableByteInteger, type ReadCursor } from "./variable-byte-integer";

/** A packet lying whole inside one chunk: [start, end) of that chunk. */
export interface WholePacket {
  start: number;
  end: number;
  /** Where the variable header begins (after the fixed header). */
  body: number;
}

export class PacketFramer {
  /** Bytes of a packet begun in an earlier chunk still to come. */
  private remaining = 0;
  /** A fixed header cut short at the end of the last chunk. */
  private partialHeader: number[] = [];
  /** A malformed length seen: the stream's framing is no longer known. */
  private lost = false;
  private readonly cursor: ReadCursor = { pos: 0 };

  /**
   * Takes the next chunk. Returns the packets it holds whole, in order, when it begins at a packet
   * boundary; undefined when it begins inside a packet (or the framing is lost).
   */
  feed(chunk: Uint8Array): WholePacket[] | undefined {
    if (this.lost) return undefined;
    const aligned = this.remaining === 0 && this.partialHeader.length === 0;
    let offset = 0;
    if (this.partialHeader.length > 0) {
      // Complete the cut header with this chunk's first bytes, then skip the rest of its packet.
      const joined = Uint8Array.from([...this.partialHeader, ...chunk.subarray(0, 5)]);
      const remainingLength = readVariableByteInteger(joined, 1, joined.length, this.cursor);
      if (remainingLength === MALFORMED) return this.lose();
      if (remainingLength === INCOMPLETE) {
        this.partialHeader = [...joined];
        return undefined;
      }
      offset = this.cursor.pos - this.partialHeader.length;
      this.partialHeader = [];
      this.remaining = remainingLength;
    }
    if (this.remaining > 0) {
      const take = Math.min(this.remaining, chunk.length - offset);
      this.remaining -= take;
      offset += take;
    }
    const packets: WholePacket[] = [];
    while (offset < chunk.length) {
      const remainingLength = readVariableByteInteger(chunk, offset + 1, chunk.length, this.cursor);
      if (remainingLength === MALFORMED) return this.lose();
      if (remainingLength === INCOMPLETE) {
        this.partialHeader = [...chunk.subarray(offset)];
        break;
      }
      const end = this.cursor.pos + remainingLength;
      if (end > chunk.length) {
        this.remaining = end - chunk.length;
        break;
      }
      packets.push({ start: offset, end, body: this.cursor.pos });
      offset = end;
    }
    return aligned ? packets : undefined;
  }

  private lose(): undefined {
    this.lost = true;
    return undefined;
  }
}
