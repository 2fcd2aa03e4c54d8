// The broker's packet ids for the QoS 1/2 messages it sends to one client (the aedes patch's
// lib/packet-id.js): a new message never takes the id of one still unacknowledged [MQTT-2.2.1-3],
// including the stored messages a resumed session is about to resend.
import { describe, expect, test } from "bun:test";
import { after, allocate, resumeAfter } from "../../node_modules/aedes/lib/packet-id.js";

describe("packet ids", () => {
  test("follow on from 1 to 65535, then 1 again", () => {
    expect(after(1)).toBe(2);
    expect(after(65534)).toBe(65535);
    expect(after(65535)).toBe(1);
  });

  test("a new id skips those in flight and those reserved for stored messages, wrapping past 65535", () => {
    const inflight = new Set([65534, 1]);
    const reserved = new Set([65535, 2]);
    expect(allocate(65534, inflight, reserved)).toBe(3);
    expect(allocate(65533, inflight, reserved)).toBe(65533);
    expect(allocate(4, inflight, null)).toBe(4);
    expect(allocate(1, inflight, null)).toBe(2);
  });

  test("with every id taken there is none to give: the next one comes back", () => {
    const everyId = new Set(Array.from({ length: 65535 }, (_, i) => i + 1));
    expect(allocate(40_000, everyId, null)).toBe(40_000);
  });

  test("a resumed session starts after the stored message queued last, across the wrap", () => {
    expect(resumeAfter([])).toBeUndefined();
    expect(resumeAfter([700, 702, 705])).toBe(706);
    expect(resumeAfter([65534, 65535])).toBe(1);
    expect(resumeAfter([65535, 1, 2])).toBe(3);
  });

  // Wherever the ids start (a random start is what aedes does after a restart), a session giving out
  // ids one after the other while its stored ones wait never hands out one of them.
  test("from any start, a stream of new ids never takes a stored one", () => {
    const stored = [65530, 65532, 65535, 1, 2, 9];
    const reserved = new Set(stored);
    for (const start of [65529, 65530, 65531, 65535, 1, 3, 8, 9, 10, 30_000]) {
      const inflight = new Set<number>();
      let next = start;
      for (let n = 0; n < 200; n++) {
        const id = allocate(next, inflight, reserved);
        expect(reserved.has(id)).toBe(false);
        expect(inflight.has(id)).toBe(false);
        inflight.add(id);
        next = after(id);
      }
    }
  });
});
