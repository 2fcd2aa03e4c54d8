import { describe, expect, test } from "bun:test";
import { backoffMs, DEFAULT_PASSWORD_CHECK_LIMITS, hashesByKind, hashKind, PasswordChecker } from "../../src/broker/auth/password-check";

const limits = DEFAULT_PASSWORD_CHECK_LIMITS;

describe("password checks", () => {
  test("the back-off doubles with each failure in a row, from 250 ms up to 8 s", () => {
    expect([0, 1, 2, 3, 6, 7, 50].map((failures) => backoffMs(failures, limits))).toEqual([0, 250, 500, 1000, 8000, 8000, 8000]);
  });

  test("a hash's kind holds its cost parameters; one hash of each kind is kept", async () => {
    const argonCheap = await Bun.password.hash("a", { algorithm: "argon2id", memoryCost: 4096, timeCost: 1 });
    const argonCheap2 = await Bun.password.hash("b", { algorithm: "argon2id", memoryCost: 4096, timeCost: 1 });
    const argonDear = await Bun.password.hash("c", { algorithm: "argon2id", memoryCost: 8192, timeCost: 2 });
    const bcrypt = await Bun.password.hash("d", { algorithm: "bcrypt", cost: 4 });
    expect(hashKind(argonCheap)).toBe("$argon2id$v=19$m=4096,t=1,p=1");
    expect(hashKind(argonCheap)).toBe(hashKind(argonCheap2));
    expect(hashKind(argonDear)).not.toBe(hashKind(argonCheap));
    expect(hashKind(bcrypt)).toBe("$2b$04");
    expect([...hashesByKind(new Map([["a", argonCheap], ["b", argonCheap2], ["c", argonDear], ["d", bcrypt]])).values()]).toEqual([argonCheap, argonDear, bcrypt]);
  });

  test("right and wrong passwords, unknown users; no more than the cap at once, the rest wait or are refused as busy", async () => {
    const users = new Map([["alice", await Bun.password.hash("right", { algorithm: "bcrypt", cost: 4 })]]);
    const checker = new PasswordChecker({ ...limits, maxConcurrent: 1, maxWaiting: 2, backoffBaseMs: 0 });
    expect(await checker.check(users, "a", "alice", Buffer.from("right"))).toBe("accepted");
    expect(await checker.check(users, "a", "alice", Buffer.from("wrong"))).toBe("refused");
    expect(await checker.check(users, "a", "alice", undefined)).toBe("refused");
    expect(await checker.check(users, "a", "mallory", Buffer.from("right"))).toBe("refused");
    const verdicts = await Promise.all(Array.from({ length: 5 }, () => checker.check(users, "b", "alice", Buffer.from("right"))));
    expect(verdicts.sort()).toEqual(["accepted", "accepted", "accepted", "busy", "busy"]);
  });

  test("after failures an address waits before its next check; a success clears it; other addresses do not wait", async () => {
    const users = new Map([["alice", await Bun.password.hash("right", { algorithm: "bcrypt", cost: 4 })]]);
    const checker = new PasswordChecker({ ...limits, backoffBaseMs: 100 });
    await checker.check(users, "10.0.0.1", "alice", Buffer.from("wrong"));
    await checker.check(users, "10.0.0.1", "alice", Buffer.from("wrong"));
    expect([checker.backoffFor("10.0.0.1"), checker.backoffFor("10.0.0.2")]).toEqual([200, 0]);
    const started = performance.now();
    expect(await checker.check(users, "10.0.0.1", "alice", Buffer.from("right"))).toBe("accepted");
    expect(performance.now() - started).toBeGreaterThanOrEqual(195); // it waited its back-off first
    expect(checker.backoffFor("10.0.0.1")).toBe(0);
  });

  test("every refusal verifies once against each hash kind in the file: unknown user, wrong password, either kind", async () => {
    const argon = await Bun.password.hash("a", { algorithm: "argon2id", memoryCost: 4096, timeCost: 1 });
    const bcrypt = await Bun.password.hash("b", { algorithm: "bcrypt", cost: 4 });
    const users = new Map([["argon-user", argon], ["bcrypt-user", bcrypt]]);
    let verified: string[] = [];
    const checker = new PasswordChecker({ ...limits, backoffBaseMs: 0 }, async (password, hash) => {
      verified.push(hashKind(hash));
      return Bun.password.verify(password, hash);
    });
    const kindsVerified = async (user: string, password?: string) => {
      verified = [];
      expect(await checker.check(users, "x", user, password === undefined ? undefined : Buffer.from(password))).toBe("refused");
      return verified.sort();
    };
    const all = [hashKind(argon), hashKind(bcrypt)].sort();
    expect(await kindsVerified("nobody", "x")).toEqual(all);
    expect(await kindsVerified("argon-user", "x")).toEqual(all);
    expect(await kindsVerified("bcrypt-user", "x")).toEqual(all);
    expect(await kindsVerified("bcrypt-user")).toEqual(all); // no password: the same work, not a shortcut
  });
});
