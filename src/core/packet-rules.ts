// Rules about a packet's fields that mqtt-packet decodes without checking: which MQTT 5 properties a
// client may send in which packet, and the CONNECT's flags against what follows them. Pure: the
// broker's protocol guard applies them.
import { ReasonCode } from "./reason-codes";

export interface PacketProblem {
  reasonCode: number;
  message: string;
}

const WILL_PROPERTIES = ["willDelayInterval", "payloadFormatIndicator", "messageExpiryInterval", "contentType", "responseTopic", "correlationData", "userProperties"];
const ACK_PROPERTIES = ["reasonString", "userProperties"];

/** The properties each packet a client sends may carry (MQTT 5 §3.x.2.x), by mqtt-packet's names. */
const CLIENT_PROPERTIES: Record<string, ReadonlySet<string>> = {
  connect: new Set(["sessionExpiryInterval", "receiveMaximum", "maximumPacketSize", "topicAliasMaximum", "requestResponseInformation", "requestProblemInformation", "userProperties", "authenticationMethod", "authenticationData"]),
  will: new Set(WILL_PROPERTIES),
  publish: new Set(["payloadFormatIndicator", "messageExpiryInterval", "topicAlias", "responseTopic", "correlationData", "userProperties", "subscriptionIdentifier", "contentType"]),
  puback: new Set(ACK_PROPERTIES),
  pubrec: new Set(ACK_PROPERTIES),
  pubrel: new Set(ACK_PROPERTIES),
  pubcomp: new Set(ACK_PROPERTIES),
  subscribe: new Set(["subscriptionIdentifier", "userProperties"]),
  unsubscribe: new Set(["userProperties"]),
  disconnect: new Set(["sessionExpiryInterval", "reasonString", "userProperties", "serverReference"]),
  auth: new Set(["authenticationMethod", "authenticationData", "reasonString", "userProperties"]),
};

/**
 * A property that does not belong in this packet makes it malformed [MQTT-2.2.2-2]; a PUBLISH from a
 * client must not carry a Subscription Identifier [MQTT-3.3.4-6].
 */
export function propertiesProblem(cmd: string, properties: object | undefined): PacketProblem | undefined {
  if (properties === undefined) return undefined;
  const allowed = CLIENT_PROPERTIES[cmd];
  if (allowed === undefined) return undefined;
  for (const name of Object.keys(properties)) {
    if (!allowed.has(name)) return { reasonCode: ReasonCode.malformedPacket, message: `${name} is not a ${cmd === "will" ? "will" : cmd.toUpperCase()} property` };
  }
  if (cmd === "publish" && "subscriptionIdentifier" in properties) {
    return { reasonCode: ReasonCode.protocolError, message: "Subscription Identifier in a PUBLISH from a client" };
  }
  return undefined;
}

export interface ConnectFields {
  protocolVersion: number;
  will?: { qos?: number; properties?: object };
  username?: string;
  password?: Buffer;
  properties?: object;
}

/**
 * A CONNECT whose fields contradict its flags: bytes after the last field its flags announce (a User
 * Name, Password or Will without its flag: [MQTT-3.1.2-11], -18, -20 in 3.1.1, -16, -18 in 5), Will
 * QoS 3 ([MQTT-3.1.2-14] 3.1.1, [MQTT-3.1.2-12] 5), a Password without a User Name in 3.1.1
 * [MQTT-3.1.2-22]; and properties a CONNECT or a will cannot carry.
 */
export function connectProblem(packet: ConnectFields, payloadBytesRead: number, remainingLength: number): PacketProblem | undefined {
  const malformed = (message: string) => ({ reasonCode: ReasonCode.malformedPacket, message });
  if (payloadBytesRead < remainingLength) return malformed(`CONNECT with ${remainingLength - payloadBytesRead} bytes after the fields its flags announce`);
  if (packet.will?.qos === 3) return malformed("CONNECT with Will QoS 3");
  if (packet.protocolVersion < 5 && packet.password !== undefined && packet.username === undefined) {
    return malformed("CONNECT with a Password but no User Name (MQTT 3.1.1)");
  }
  return propertiesProblem("connect", packet.properties) ?? propertiesProblem("will", packet.will?.properties);
}

/** No Local on a Shared Subscription is a Protocol Error [MQTT-3.8.3-4]. */
export function subscribeProblem(subscriptions: ReadonlyArray<{ topic: string; nl?: boolean }>): PacketProblem | undefined {
  const shared = subscriptions.find((subscription) => subscription.nl === true && subscription.topic.startsWith("$share/"));
  if (shared) return { reasonCode: ReasonCode.protocolError, message: `No Local on the shared subscription ${shared.topic}` };
  return undefined;
}
