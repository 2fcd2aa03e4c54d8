import { describe, expect, test } from "bun:test";
import { compileFormat, echoJson, FormatError, formatPlain, isoTimestamp, messageJson, type ReceivedMessage } from "../../src/core/message-format";
import { formatStatusLine } from "../../src/core/ping-report";

const text: ReceivedMessage = { topic: "home/temp", payload: Buffer.from("21.5"), qos: 1, retain: true, messageId: 7 };
const binary: ReceivedMessage = { topic: "bin", payload: Buffer.from([0x00, 0xff, 0x0a]), qos: 0, retain: false };
const withProperties: ReceivedMessage = {
  ...text,
  properties: {
    contentType: "text/plain",
    correlationData: Buffer.from("id-1"),
    responseTopic: "reply",
    messageExpiryInterval: 60,
    userProperties: { site: ["lab", "roof"], unit: "C" },
    subscriptionIdentifier: [3, 4],
    payloadFormatIndicator: true,
  },
};
const AT = Date.UTC(2026, 10, 22, 5, 52, 50, 827) + 0.471;

describe("sub output", () => {
  test("plain output is the payload bytes, the topic first with -v, newline unless -N", () => {
    expect(formatPlain(binary, { verbose: false, encoding: "raw", eol: false })).toEqual(Buffer.from([0x00, 0xff, 0x0a]));
    expect(formatPlain(text, { verbose: true, encoding: "raw", eol: true }).toString()).toBe("home/temp 21.5\n");
    expect(formatPlain(binary, { verbose: false, encoding: "hex", eol: true }).toString()).toBe("00ff0a\n");
    expect(formatPlain(binary, { verbose: true, encoding: "base64", eol: false }).toString()).toBe("bin AP8K");
  });

  test("JSON keeps mosquitto's %j keys, and a payload that is not UTF-8 goes as base64", () => {
    expect(JSON.parse(messageJson(text, AT))).toEqual({ tst: "2026-11-22T05:52:50.827471Z", topic: "home/temp", qos: 1, retain: 1, payloadlen: 4, mid: 7, payload: "21.5" });
    const record = JSON.parse(messageJson(binary, AT));
    expect(record.payload).toBeUndefined();
    expect(Buffer.from(record.payload_base64, "base64").toString("hex")).toBe("00ff0a");
    expect(JSON.parse(messageJson(withProperties, AT)).properties).toEqual({
      contentType: "text/plain",
      correlationData: "69642d31",
      responseTopic: "reply",
      messageExpiryInterval: 60,
      userProperties: { site: ["lab", "roof"], unit: "C" },
      subscriptionIdentifier: [3, 4],
      payloadFormatIndicator: true,
    });
  });

  test("isoTimestamp has microseconds", () => expect(isoTimestamp(AT)).toBe("2026-11-22T05:52:50.827471Z"));

  test("-F codes and escapes", () => {
    const format = compileFormat("%t|%p|%l|%q|%r|%m|%x|%X|%b|%%|\\t|\\\\");
    expect(format(text, AT).toString()).toBe("home/temp|21.5|4|1|1|7|32312e35|32312E35|MjEuNQ==|%|\t|\\");
    expect(compileFormat("%C %R %D %E %F %P %S")(withProperties, AT).toString()).toBe("text/plain reply id-1 60 1 site:lab site:roof unit:C 3,4");
    expect(compileFormat("%C%R")(text, AT).toString()).toBe("");
    expect(compileFormat("%U")(text, AT).toString()).toBe("1795326770.827471000");
    expect(compileFormat("%I")(text, AT).toString()).toBe("2026-11-22T05:52:50+0000");
    expect(compileFormat("%p")(binary, AT)).toEqual(binary.payload);
  });

  test("a bad -F format is a FormatError naming the problem", () => {
    expect(() => compileFormat("%Z")).toThrow(new FormatError('unknown format code "%Z"'));
    expect(() => compileFormat("abc%")).toThrow('the format ends in a lone "%"');
    expect(() => compileFormat("\\q")).toThrow('unknown escape "\\q"');
  });

  test("echo --json names the answer topic and the correlation data", () => {
    expect(JSON.parse(echoJson({ topic: "reply", payload: Buffer.from("hi"), correlationData: Buffer.from([1, 2]) }, AT))).toEqual({
      type: "echo",
      tst: "2026-11-22T05:52:50.827471Z",
      topic: "reply",
      payloadlen: 2,
      payload: "hi",
      correlation_data_hex: "0102",
    });
  });
});

describe("ping live status", () => {
  test("shows counts, unanswered share and the last RTT", () => {
    expect(formatStatusLine({ transmitted: 10, received: 9, duplicates: 0, lastRttMs: 0.412 })).toBe("10 sent, 9 received, 10% unanswered, last rtt 0.412 ms");
    expect(formatStatusLine({ transmitted: 1, received: 0, duplicates: 2 })).toBe("1 sent, 0 received, 2 dup, 100% unanswered, last rtt -");
  });
});
