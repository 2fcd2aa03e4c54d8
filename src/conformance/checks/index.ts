/** Every check, in spec order: MQTT 3.1.1 first, then MQTT 5, each by statement id. */
import type { Check } from "../check";
import { connectChecks } from "./connect";
import { dataChecks } from "./data";
import { miscChecks } from "./misc";
import { packetSizeChecks } from "./packet-size";
import { propertyChecks } from "./properties";
import { publishChecks } from "./publish";
import { qosChecks } from "./qos";
import { sessionChecks } from "./session";
import { subscribeChecks } from "./subscribe";
import { topicChecks } from "./topics";
import { willChecks } from "./will";

const all: Check[] = [...dataChecks, ...connectChecks, ...sessionChecks, ...publishChecks, ...qosChecks, ...subscribeChecks, ...miscChecks, ...topicChecks, ...propertyChecks, ...willChecks, ...packetSizeChecks];

/** "MQTT-3.1.2-23" → "003.001.002.023", so ids sort as the spec numbers them. */
const idKey = (id: string) =>
  id
    .replace(/^MQTT-/, "")
    .split(/[.-]/)
    .map((part) => part.padStart(3, "0"))
    .join(".");

export const checks: readonly Check[] = [...all].sort((a, b) => a.protocol.localeCompare(b.protocol) || idKey(a.id).localeCompare(idKey(b.id)));
