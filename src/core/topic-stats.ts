/**
 * The console's view of the topics seen while a page is open: messages per topic, a rate per
 * second, the last payload (its head), QoS and retain flag. No I/O here: the console feeds it from
 * the broker's 'publish' event and calls tick() once a second.
 */

/** How much of the last payload is kept (and sent to the page) per topic. */
export const PAYLOAD_PREVIEW_BYTES = 2048;

export interface TopicEntry {
  topic: string;
  /** Messages since the console started watching. */
  count: number;
  /** Messages per second over the last tick. */
  rate: number;
  /** The head of the last payload, and its whole size. */
  payload: Uint8Array;
  size: number;
  qos: number;
  retain: boolean;
}

export class TopicStats {
  /** `dirty`: a message came (or the retained flag changed) since the last tick. */
  private readonly entries = new Map<string, TopicEntry & { countAtTick: number; dirty: boolean }>();
  private lastTickAt: number;
  /** Messages on topics not kept because `maxTopics` were already known. */
  untracked = 0;

  constructor(
    private readonly maxTopics: number,
    now: number,
  ) {
    this.lastTickAt = now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** One message; on the message path while a console is attached, so kept to a lookup and a few stores. */
  record(topic: string, payload: Uint8Array, qos: number, retain: boolean): void {
    let entry = this.entries.get(topic);
    if (!entry) {
      if (this.entries.size >= this.maxTopics) {
        this.untracked++;
        return;
      }
      entry = { topic, count: 0, countAtTick: 0, rate: 0, payload, size: 0, qos, retain, dirty: true };
      this.entries.set(topic, entry);
    }
    entry.count++;
    // A reference, not a copy: tick() copies the head of the last one, once a second at most.
    entry.payload = payload;
    entry.size = payload.length;
    entry.qos = qos;
    entry.retain = retain;
    entry.dirty = true;
  }

  /** A retained message was deleted from the page: the topic keeps its counts, not the flag. */
  clearRetained(topic: string): void {
    const entry = this.entries.get(topic);
    if (entry && entry.retain) {
      entry.retain = false;
      entry.dirty = true;
    }
  }

  /** Computes each topic's rate since the last tick; returns the entries that changed (their rate included). */
  tick(now: number): TopicEntry[] {
    const seconds = Math.max((now - this.lastTickAt) / 1000, 0.001);
    this.lastTickAt = now;
    const changed: TopicEntry[] = [];
    for (const entry of this.entries.values()) {
      const rate = (entry.count - entry.countAtTick) / seconds;
      entry.countAtTick = entry.count;
      if (rate !== entry.rate || entry.dirty) {
        entry.rate = rate;
        // A payload may be a view of a whole socket read: keep a copy of its head only (a Buffer's
        // slice() would be another view).
        if (entry.dirty) entry.payload = new Uint8Array(entry.payload.subarray(0, PAYLOAD_PREVIEW_BYTES));
        entry.dirty = false;
        changed.push(entry);
      }
    }
    return changed;
  }

  all(): TopicEntry[] {
    return [...this.entries.values()];
  }

  /** The `count` busiest topics by their last rate ("what is flooding the broker"). */
  top(count: number): TopicEntry[] {
    return this.all()
      .filter((entry) => entry.rate > 0)
      .sort((a, b) => b.rate - a.rate || a.topic.localeCompare(b.topic))
      .slice(0, count);
  }
}

/** Whether `topic` is `branch` itself or lies under it (branch "a/b": "a/b", "a/b/c", not "a/bc"). */
export function isUnderBranch(topic: string, branch: string): boolean {
  return topic === branch || topic.startsWith(branch.endsWith("/") ? branch : branch + "/");
}

/** The page's search: every space-separated word must appear in the topic (case-insensitive). */
export function matchesSearch(topic: string, search: string): boolean {
  const lower = topic.toLowerCase();
  return search
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => lower.includes(word));
}
