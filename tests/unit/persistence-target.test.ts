import { expect, test } from "bun:test";
import { parsePersistenceTarget } from "../../src/core/persistence-target";

test("plain paths and sqlite:/file: URLs name an SQLite file", () => {
  expect(parsePersistenceTarget("broker.db")).toEqual({ kind: "sqlite", path: "broker.db" });
  expect(parsePersistenceTarget("/var/lib/mqtt/state.db")).toEqual({ kind: "sqlite", path: "/var/lib/mqtt/state.db" });
  expect(parsePersistenceTarget("sqlite:state.db")).toEqual({ kind: "sqlite", path: "state.db" });
  expect(parsePersistenceTarget("sqlite:///tmp/a.db")).toEqual({ kind: "sqlite", path: "/tmp/a.db" });
  expect(parsePersistenceTarget("file:///tmp/my%20state.db")).toEqual({ kind: "sqlite", path: "/tmp/my state.db" });
  expect(parsePersistenceTarget("file://localhost/tmp/a.db")).toEqual({ kind: "sqlite", path: "/tmp/a.db" });
  expect(parsePersistenceTarget("C:\\data\\a.db")).toEqual({ kind: "sqlite", path: "C:\\data\\a.db" });
});

test("memory is the default's name", () => {
  expect(parsePersistenceTarget("memory")).toEqual({ kind: "memory" });
});

test("other schemes, other hosts, empty and broken URLs are refused with a reason", () => {
  expect(() => parsePersistenceTarget("redis://localhost:6379")).toThrow('unsupported scheme "redis:"');
  expect(() => parsePersistenceTarget("http://x/y")).toThrow('unsupported scheme "http:"');
  expect(() => parsePersistenceTarget("file://server/share/a.db")).toThrow("names another host");
  expect(() => parsePersistenceTarget("")).toThrow("needs a file path");
  expect(() => parsePersistenceTarget("sqlite:")).toThrow("has no file path");
  expect(() => parsePersistenceTarget("sqlite:%zz")).toThrow("bad %-escape");
});
