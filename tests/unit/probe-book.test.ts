import { describe, expect, test } from "bun:test";
import { ProbeBook } from "../../src/core/probe-book";

describe("the pinger's probe book", () => {
  test("probes opened within one clock tick still get unique, increasing timestamps", () => {
    const book = new ProbeBook(0);
    const stamps = [book.open(1_700_000_000_000), book.open(1_700_000_000_000), book.open(1_700_000_000_000)].map((probe) => probe.timestamp);
    expect(new Set(stamps).size).toBe(3);
    expect([...stamps].sort()).toEqual(stamps);
    expect(book.transmitted).toBe(3);
  });

  test("an echo times its probe; a second echo is a duplicate; an earlier probe answered later is out of order", () => {
    const book = new ProbeBook(3);
    const first = book.open(1_000);
    first.sentAtMs = 10;
    const second = book.open(2_000);
    second.sentAtMs = 20;
    expect(book.answer(second.timestamp, 25)).toEqual({ kind: "echo", probe: second, rttMs: 5, outOfOrder: false });
    expect(book.answer(first.timestamp, 30)).toEqual({ kind: "echo", probe: first, rttMs: 20, outOfOrder: true });
    expect(book.answer(first.timestamp, 31)).toEqual({ kind: "duplicate", probe: first });
    expect(book.answer("123.456", 32)).toEqual({ kind: "unknown" });
    expect([book.received, book.duplicates, book.outOfOrder]).toEqual([2, 1, 1]);
  });

  test("an unanswered probe is lost at its timeout, once; an answered one is forgotten silently", () => {
    const book = new ProbeBook(3);
    const answered = book.open(1_000);
    answered.sentAtMs = 0;
    const unanswered = book.open(2_000);
    unanswered.sentAtMs = 10;
    book.answer(answered.timestamp, 5);
    const lost: number[] = [];
    book.expire(100, 100, (probe) => lost.push(probe.seq));
    expect(lost).toEqual([]);
    book.expire(110, 100, (probe) => lost.push(probe.seq));
    book.expire(500, 100, (probe) => lost.push(probe.seq));
    expect(lost).toEqual([2]);
    expect(book.allAccounted(2)).toBe(true);
    expect(book.answer(unanswered.timestamp, 600)).toEqual({ kind: "unknown" });
  });

  test("the oldest probe still waiting names the next loss deadline; none once all are answered", () => {
    const book = new ProbeBook(3);
    expect(book.oldestUnansweredSentAtMs()).toBeUndefined();
    const first = book.open(1_000);
    first.sentAtMs = 10;
    const second = book.open(2_000);
    second.sentAtMs = 20;
    expect(book.oldestUnansweredSentAtMs()).toBe(10);
    book.answer(first.timestamp, 15);
    expect(book.oldestUnansweredSentAtMs()).toBe(20);
    book.answer(second.timestamp, 25);
    expect(book.oldestUnansweredSentAtMs()).toBeUndefined();
  });
});
