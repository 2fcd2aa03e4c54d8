import { describe, expect, test } from "bun:test";
import { parseConfigFile } from "../../src/broker/config-file";

const definitions = {
  port: { type: "string" as const, alias: "p" },
  "password-file": { type: "string" as const },
  "allow-anonymous": { type: "boolean" as const },
  config: { type: "string" as const },
};

describe("config files", () => {
  test("one `name value` a line; a boolean alone means true", () => {
    const text = "# the broker\nport 1883\npassword-file /etc/mqtt pingpong/passwd\n\nallow-anonymous\n";
    expect(parseConfigFile(text, definitions)).toEqual({ port: "1883", "password-file": "/etc/mqtt pingpong/passwd", "allow-anonymous": true });
    expect(parseConfigFile("allow-anonymous false", definitions)).toEqual({ "allow-anonymous": false });
    expect(parseConfigFile("--port 1", definitions)).toEqual({ port: "1" });
  });

  test("mistakes name their line", () => {
    expect(() => parseConfigFile("port 1\nprot 2", definitions)).toThrow('line 2: unknown setting "prot"');
    expect(() => parseConfigFile("p 2", definitions)).toThrow('unknown setting "p"');
    expect(() => parseConfigFile("config other.conf", definitions)).toThrow('unknown setting "config"');
    expect(() => parseConfigFile("port", definitions)).toThrow('line 1: "port" needs a value');
    expect(() => parseConfigFile("port 1\nport 2", definitions)).toThrow('line 2: "port" is set twice');
    expect(() => parseConfigFile("allow-anonymous yes", definitions)).toThrow('takes true or false, not "yes"');
  });
});

describe("the broker's config file", () => {
  test("covers every broker flag but --config itself", async () => {
    const { brokerArgs } = await import("../../src/broker/setup/flags");
    for (const [name, definition] of Object.entries(brokerArgs)) {
      if (name === "config") continue;
      const line = definition.type === "boolean" ? name : `${name} 1`;
      expect(Object.keys(parseConfigFile(line, brokerArgs))).toEqual([name]);
    }
  });
});
