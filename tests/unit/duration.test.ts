import { describe, expect, test } from "bun:test";
import { formatMs, parseDurationMs } from "../../src/core/duration";

describe("parseDurationMs", () => {
  test.each([
    ["1s", 1000],
    ["250ms", 250],
    ["0.5s", 500],
    [".5s", 500],
    ["2", 2000],
    ["100us", 0.1],
    ["2m", 120_000],
  ])("%s is %d ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  test.each(["", "fast", "1 sec", "-1s", "1.2.3s", "s"])("rejects %p", (text) => {
    expect(() => parseDurationMs(text)).toThrow(/invalid duration/);
  });
});

test("formatMs keeps three decimals below 10 ms, as ping(8) does", () => {
  expect(formatMs(0.4123)).toBe("0.412 ms");
  expect(formatMs(12.34)).toBe("12.3 ms");
  expect(formatMs(1500)).toBe("1.50 s");
});
