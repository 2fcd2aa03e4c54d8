/** Every check, in spec order within each protocol version. */
import type { Check } from "../check";
import { connectChecks } from "./connect";
import { dataChecks } from "./data";
import { miscChecks } from "./misc";
import { propertyChecks } from "./properties";
import { publishChecks } from "./publish";
import { qosChecks } from "./qos";
import { sessionChecks } from "./session";
import { subscribeChecks } from "./subscribe";
import { topicChecks } from "./topics";
import { willChecks } from "./will";

const all: Check[] = [...dataChecks, ...connectChecks, ...sessionChecks, ...publishChecks, ...qosChecks, ...subscribeChecks, ...miscChecks, ...topicChecks, ...propertyChecks, ...willChecks];

const sectionKey = (check: Check) => check.section.split(".").map((part) => part.padStart(3, "0")).join(".");

/** MQTT 3.1.1 first, then MQTT 5; by section, then in declaration order. */
export const checks: readonly Check[] = all
  .map((check, index) => ({ check, index }))
  .sort((a, b) => a.check.protocol.localeCompare(b.check.protocol) || sectionKey(a.check).localeCompare(sectionKey(b.check)) || a.index - b.index)
  .map(({ check }) => check);
