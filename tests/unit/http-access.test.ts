// Who may use the HTTP listener: /metrics and the web console by --http-host, --password-file and
// --http-allow-anonymous (src/core/http-access.ts; docs/console.md, docs/security.md).
import { describe, expect, test } from "bun:test";
import { consoleAccess, metricsAccess } from "../../src/core/http-access";

const OFF_LOOPBACK = ["0.0.0.0", "::", "192.168.1.20", "fe80::1", "example.org"];
const LOOPBACK = ["localhost", "127.0.0.1", "127.0.0.2", "::1"];

describe("the web console's access", () => {
  test("off loopback with no password file there is no console, --http-allow-anonymous or not", () => {
    for (const host of OFF_LOOPBACK) expect(consoleAccess(host, false)).toBe("none");
  });

  test("with a password file it asks for a user of it, wherever it binds", () => {
    for (const host of [...OFF_LOOPBACK, ...LOOPBACK]) expect(consoleAccess(host, true)).toBe("login");
  });

  test("on loopback without a password file it is open", () => {
    for (const host of LOOPBACK) expect(consoleAccess(host, false)).toBe("open");
  });
});

describe("/metrics' access", () => {
  test("off loopback without a password file or --http-allow-anonymous: refused (the broker does not start)", () => {
    for (const host of OFF_LOOPBACK) expect(metricsAccess(host, false, false)).toBe("refused");
  });

  test("--http-allow-anonymous opens it anywhere, password file or not", () => {
    for (const host of [...OFF_LOOPBACK, ...LOOPBACK]) {
      expect(metricsAccess(host, false, true)).toBe("open");
      expect(metricsAccess(host, true, true)).toBe("open");
    }
  });

  test("a password file without --http-allow-anonymous asks for a user; loopback without one is open", () => {
    for (const host of [...OFF_LOOPBACK, ...LOOPBACK]) expect(metricsAccess(host, true, false)).toBe("login");
    for (const host of LOOPBACK) expect(metricsAccess(host, false, false)).toBe("open");
  });
});
