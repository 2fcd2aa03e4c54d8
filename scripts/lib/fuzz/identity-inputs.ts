// ACL-shaped inputs for the fuzzer: user names, client ids and will topics made of what pattern rules
// (%u, %c) and topic filters give meaning to, so the broker's access checks meet hostile identities.
import type { Packet } from "mqtt-packet";
import type { Rng } from "./generator";

/**
 * The ACL the fuzzed broker runs with: anonymous clients (the ping/echo pair, most cases) keep
 * everything they had; named ones get only what the patterns fill in for them.
 */
export const FUZZ_ACL = `topic readwrite /ping
topic readwrite /pong
topic readwrite fuzz/#
pattern readwrite fuzz/users/%u/#
pattern readwrite fuzz/clients/%c/#
pattern write fuzz/wills/%u/%c
`;

const SHAPES = ["%u", "%c", "%", "%%", "+", "#", "/", "a/b", "\0", "x\0y", "#/+", "users/#", "%u/%c", "$SYS", " ", "é", ""];

/** A user name or client id: a few shapes glued together, or now and then a very long run of one. */
export function identityValue(rng: Rng): string {
  if (rng.chance(0.1)) return rng.pick(["x", "%", "#", "/", "+", "%c"]).repeat(rng.int(256, 16_000));
  let value = "";
  for (let i = rng.int(1, 3); i > 0; i--) value += rng.pick(SHAPES);
  return value;
}

/** A CONNECT with such an identity (and maybe a will), then a SUBSCRIBE and a PUBLISH that use it. */
export function identityShapedPackets(rng: Rng, version: 4 | 5): { connect: Packet; after: Packet[] } {
  const username = rng.chance(0.7) ? identityValue(rng) : undefined;
  const clientId = identityValue(rng);
  const value = rng.chance(0.5) ? (username ?? clientId) : identityValue(rng);
  const will = rng.chance(0.4) ? { topic: `fuzz/wills/${value}/${clientId}`, payload: Buffer.from("gone"), qos: rng.int(0, 2) as 0 | 1 | 2, retain: false } : undefined;
  const connect = { cmd: "connect", protocolId: "MQTT", protocolVersion: version, clean: true, clientId, username, keepalive: 60, will } as Packet;
  const filter = rng.pick([`fuzz/users/${value}/#`, `fuzz/clients/${value}/#`, "fuzz/users/#", "fuzz/#", "#", `${value}/#`]);
  const topic = rng.pick([`fuzz/users/${value}/x`, `fuzz/clients/${value}`, `fuzz/wills/${value}/${clientId}`]);
  const after = [
    { cmd: "subscribe", messageId: rng.int(1, 65535), subscriptions: [{ topic: filter, qos: rng.int(0, 2) }] } as Packet,
    { cmd: "publish", topic, payload: Buffer.from("x"), qos: 1, messageId: rng.int(1, 65535), retain: rng.chance(0.2), dup: false } as Packet,
  ];
  return { connect, after };
}
