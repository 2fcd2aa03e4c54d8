import { expect, test } from "bun:test";
import { ShareGroup, sharedFilter } from "../../src/broker/shared-subscriptions";

const member = (name: string) => Object.assign(() => {}, { memberName: name });

test("'$share/{name}/{filter}' subscribes to the filter, which may itself contain slashes", () => {
  expect(sharedFilter("$share/workers/jobs/+/new")).toBe("jobs/+/new");
  expect(sharedFilter("$share/g/#")).toBe("#");
});

test("a share group hands each message to the next member in turn, and goes on after one leaves", () => {
  const group = new ShareGroup("jobs/#");
  const [a, b, c] = [member("a"), member("b"), member("c")];
  group.members.push(a, b, c);
  expect([1, 2, 3, 4].map(() => group.take("jobs/1"))).toEqual([a, b, c, a]);
  group.members.splice(group.members.indexOf(c), 1);
  expect([1, 2, 3].map(() => group.take("jobs/1"))).toEqual([b, a, b]);
});

test("a group whose filter starts with a wildcard takes no '$' topic [MQTT-4.7.2-1]; an empty group takes nothing", () => {
  const wildcard = new ShareGroup("#");
  wildcard.members.push(member("a"));
  expect(wildcard.take("$SYS/broker/uptime")).toBeUndefined();
  expect(wildcard.take("plain")).toBe(wildcard.members[0]);
  const dollar = new ShareGroup("$SYS/#");
  dollar.members.push(member("b"));
  expect(dollar.take("$SYS/broker/uptime")).toBe(dollar.members[0]);
  expect(new ShareGroup("x").take("x")).toBeUndefined();
});
