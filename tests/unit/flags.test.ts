import { describe, expect, test } from "bun:test";
import { checkFlags } from "../../src/core/flags";

const definitions = {
  interval: { type: "string" as const, alias: "I" },
  quiet: { type: "boolean" as const },
  "ping-topic": { type: "string" as const },
  file: { type: "positional" as const },
};

describe("checkFlags", () => {
  test("accepts known flags in every spelling", () => {
    expect(() => checkFlags(["--interval", "1s", "-I", "2s", "--interval=3s", "--quiet", "--no-quiet", "--ping-topic", "x", "f"], definitions)).not.toThrow();
  });
  test("rejects unknown flags", () => expect(() => checkFlags(["--intervall", "1s"], definitions)).toThrow('unknown option "--intervall"'));
  test("rejects a value flag without a value", () => expect(() => checkFlags(["--interval"], definitions)).toThrow("needs a value"));
  test("rejects extra positionals", () => expect(() => checkFlags(["a", "b"], definitions)).toThrow('unexpected argument "b"'));
  test("stops at --", () => expect(() => checkFlags(["--", "--whatever"], definitions)).not.toThrow());
});
