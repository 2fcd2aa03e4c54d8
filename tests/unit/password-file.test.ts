import { describe, expect, test } from "bun:test";
import { checkUserName, deleteUserLine, parsePasswordFile, setUserLine } from "../../src/broker/auth/password-file";

const ARGON = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
const BCRYPT = "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";

describe("password files", () => {
  test("reads user:hash lines, skipping comments and blank lines", () => {
    const users = parsePasswordFile(`# users\nalice:${ARGON}\n\nbob:${BCRYPT}\n`);
    expect([...users.keys()]).toEqual(["alice", "bob"]);
    expect(users.get("bob")).toBe(BCRYPT);
  });

  test("refuses plain text, unknown hashes and duplicates without echoing the line", () => {
    expect(() => parsePasswordFile("alice:hunter2")).toThrow('line 1: the hash of user "alice" is not argon2 or bcrypt');
    expect(() => parsePasswordFile("alice:hunter2")).not.toThrow("hunter2");
    expect(() => parsePasswordFile(`alice:${ARGON}\nalice:${ARGON}`)).toThrow('line 2: user "alice" appears twice');
    expect(() => parsePasswordFile("no separator here")).toThrow("line 1: expected user:hash");
  });

  test("setting a user replaces its line in place or appends one, keeping comments", () => {
    const text = `# keep me\nalice:${ARGON}\nbob:${BCRYPT}\n`;
    expect(setUserLine(text, "alice", BCRYPT)).toBe(`# keep me\nalice:${BCRYPT}\nbob:${BCRYPT}\n`);
    expect(setUserLine(text, "carol", ARGON)).toBe(`${text}carol:${ARGON}\n`);
    expect(setUserLine("", "carol", ARGON)).toBe(`carol:${ARGON}\n`);
  });

  test("deleting a user removes only its line; an unknown user gives undefined", () => {
    const text = `alice:${ARGON}\nbob:${BCRYPT}\n`;
    expect(deleteUserLine(text, "alice")).toBe(`bob:${BCRYPT}\n`);
    expect(deleteUserLine(text, "carol")).toBeUndefined();
    expect(deleteUserLine(`alice:${ARGON}\n`, "alice")).toBe("");
  });

  test("user names cannot hold the separator", () => {
    expect(checkUserName("alice")).toBeUndefined();
    expect(checkUserName("a:b")).toContain("must not contain ':'");
    expect(checkUserName("")).toContain("must not be empty");
  });
});
