import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { DEFAULT_PROTOCOL_LIMITS, protocolOptions, type ProtocolLimits } from "../../src/broker/protocol-options";

type PreConnect = (client: unknown, packet: { clientId: string }, callback: (error: (Error & { returnCode?: number; reasonCode?: number }) | null, ok: boolean) => void) => void;

/**
 * One broker's preConnect hook; `connect(id)` runs it for a new connection (kept open until its
 * `close()`), with `registered` the client ids aedes already holds (a takeover's old session).
 */
function hookFor(limits: ProtocolLimits, registered: string[] = []) {
  const hook = protocolOptions(limits).preConnect as unknown as PreConnect;
  const broker = { connectedClients: 0, clients: Object.fromEntries(registered.map((id) => [id, {}])) };
  return (clientId: string) => {
    const conn = new EventEmitter();
    let result: { error: (Error & { returnCode?: number; reasonCode?: number }) | null; ok: boolean } | undefined;
    hook({ broker, conn }, { clientId }, (error, ok) => (result = { error, ok }));
    return { ...result!, close: () => conn.emit("close") };
  };
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
    const connect = hookFor({ ...DEFAULT_PROTOCOL_LIMITS, maxConnections: 2 });
    expect(connect("a").ok).toBe(true);
    const b = connect("b");
    expect({ error: b.error, ok: b.ok }).toEqual({ error: null, ok: true });
    const refused = connect("c");
    expect(refused.ok).toBe(false);
    expect(refused.error?.returnCode).toBe(3);
    expect(refused.error?.reasonCode).toBe(0x97);
    expect(refused.error?.message).toContain("--max-connections 2");
    // A connection that closes frees its place.
    b.close();
    expect(connect("d").ok).toBe(true);
  });

  test("connections are counted as they are let in, before aedes registers them (a burst)", () => {
    const connect = hookFor({ ...DEFAULT_PROTOCOL_LIMITS, maxConnections: 3 });
    const results = ["a", "b", "c", "d", "e"].map((id) => connect(id).ok);
    expect(results).toEqual([true, true, true, false, false]);
  });

  test("a client taking over its own session is let in at the limit; 0 means no limit", () => {
    const connect = hookFor({ ...DEFAULT_PROTOCOL_LIMITS, maxConnections: 2 }, ["b"]);
    connect("a");
    connect("b");
    expect(connect("b").ok).toBe(true);
    const unlimited = hookFor({ ...DEFAULT_PROTOCOL_LIMITS, maxConnections: 0 });
    for (const id of ["a", "b", "c", "d"]) expect(unlimited(id).ok).toBe(true);
  });
});
