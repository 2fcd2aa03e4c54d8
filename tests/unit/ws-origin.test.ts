import { describe, expect, test } from "bun:test";
import { originAllowed, OriginError, parseAllowedOrigins } from "../../src/broker/listeners/ws-origin";

describe("--ws-origin", () => {
  test("by default no browser page may connect; a program (no Origin header) always may", () => {
    const none = parseAllowedOrigins(undefined);
    expect(originAllowed("http://localhost:8080", none)).toBe(false);
    expect(originAllowed("https://evil.example", none)).toBe(false);
    expect(originAllowed("null", none)).toBe(false);
    expect(originAllowed(null, none)).toBe(true);
  });

  test("listed origins match exactly: scheme, host and port (default ports and case normalized)", () => {
    const allowed = parseAllowedOrigins("https://Dash.Example, http://localhost:8080/");
    expect(originAllowed("https://dash.example", allowed)).toBe(true);
    expect(originAllowed("https://dash.example:443", allowed)).toBe(true);
    expect(originAllowed("http://dash.example", allowed)).toBe(false);
    expect(originAllowed("https://dash.example:8443", allowed)).toBe(false);
    expect(originAllowed("https://dash.example.evil", allowed)).toBe(false);
    expect(originAllowed("http://localhost:8080", allowed)).toBe(true);
    expect(originAllowed("http://localhost:8081", allowed)).toBe(false);
    expect(originAllowed("not a url", allowed)).toBe(false);
  });

  test("* lets every page in; null is listed on purpose only", () => {
    expect(originAllowed("https://anything.example", parseAllowedOrigins("*"))).toBe(true);
    expect(originAllowed("null", parseAllowedOrigins("null"))).toBe(true);
  });

  test("a value that is not an origin is refused, naming it", () => {
    expect(() => parseAllowedOrigins("localhost:8080")).toThrow(OriginError);
    expect(() => parseAllowedOrigins("https://x.example/app")).toThrow(/without a path/);
  });
});
