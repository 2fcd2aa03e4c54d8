import { describe, expect, test } from "bun:test";
import { DEFAULT_PROTOCOL_LIMITS, protocolOptions, type ProtocolLimits } from "../../src/broker/protocol-options";

type PreConnect = (client: unknown, packet: { clientId: string }, callback: (error: (Error & { returnCode?: number; reasonCode?: number }) | null, ok: boolean) => void) => void;

/** Runs the preConnect hook against a broker holding `connected` client ids. */
function preConnect(limits: ProtocolLimits, connected: string[], clientId: string) {
  const hook = protocolOptions(limits).preConnect as unknown as PreConnect;
  const broker = { connectedClients: connected.length, clients: Object.fromEntries(connected.map((id) => [id, {}])) };
  let result: { error: (Error & { returnCode?: number; reasonCode?: number }) | null; ok: boolean } | undefined;
  hook({ broker }, { clientId }, (error, ok) => (result = { error, ok }));
  return result!;
}

describe("protocol options", () => {
  test("the limits become aedes's options", () => {
    const options = protocolOptions({ ...DEFAULT_PROTOCOL_LIMITS, maxPacketSize: 4096, maxInflight: 7, connectTimeoutMs: 2500, maxKeepaliveSec: 30, maxTopicAlias: 3 });
    expect(options).toMatchObject({
      maximumPacketSize: 4096,
      receiveMaximum: 7,
      outboundInflightLimit: 7,
      connectTimeout: 2500,
      keepaliveLimit: 30,
      topicAliasMaximum: 3,
    });
  });

  test("defaults: 1024 connections, 16 MiB packets, 20 in flight, 10 s to CONNECT, no keep-alive cap, 10 aliases", () => {
    expect(DEFAULT_PROTOCOL_LIMITS).toEqual({
      maxConnections: 1024,
      maxPacketSize: 16 * 1024 * 1024,
      maxInflight: 20,
      connectTimeoutMs: 10_000,
      maxKeepaliveSec: 0,
      maxTopicAlias: 10,
    });
  });

  test("a CONNECT beyond --max-connections is refused with 3.1.1 code 3 and 5.0 code 0x97", () => {
    const limits = { ...DEFAULT_PROTOCOL_LIMITS, maxConnections: 2 };
    expect(preConnect(limits, ["a"], "b")).toEqual({ error: null, ok: true });
    const refused = preConnect(limits, ["a", "b"], "c");
    expect(refused.ok).toBe(false);
    expect(refused.error?.returnCode).toBe(3);
    expect(refused.error?.reasonCode).toBe(0x97);
    expect(refused.error?.message).toContain("--max-connections 2");
  });

  test("a client taking over its own session is let in at the limit; 0 means no limit", () => {
    expect(preConnect({ ...DEFAULT_PROTOCOL_LIMITS, maxConnections: 2 }, ["a", "b"], "b").ok).toBe(true);
    expect(preConnect({ ...DEFAULT_PROTOCOL_LIMITS, maxConnections: 0 }, ["a", "b", "c"], "d").ok).toBe(true);
  });
});
