import { describe, expect, test } from "bun:test";
import { packetOfType, warmUpMessagePath } from "../../src/broker/warm-up";

describe("the broker's start-up warm-up", () => {
  test("finds a packet of a given type in a write holding several", () => {
    const puback = [0x40, 2, 0, 1];
    const publish = [0x32, 9, 0, 3, 0x61, 0x2f, 0x62, 0, 7, 0x68, 0x69];
    const write = Uint8Array.from([...puback, ...publish]);
    expect([...packetOfType(write, 3)!]).toEqual(publish);
    expect([...packetOfType(write, 4)!]).toEqual(puback);
    expect(packetOfType(write, 9)).toBeUndefined();
    // A Remaining Length of two bytes (200 = 0xc8 0x01).
    const long = Uint8Array.from([0x30, 0xc8, 0x01, ...new Array(200).fill(0), 0x90, 3, 0, 1, 0]);
    expect([...packetOfType(long, 9)!]).toEqual([0x90, 3, 0, 1, 0]);
  });

  test("runs every kind of publisher through a private broker and reports it ran through", async () => {
    const warmUp = warmUpMessagePath({}, undefined, 20);
    expect(await warmUp.done).toBe(true);
  });

  test("stopped early (the broker closing), it ends at once and says it did not run through", async () => {
    const warmUp = warmUpMessagePath({}, undefined, 1_000_000);
    await warmUp.stop();
    expect(await warmUp.done).toBe(false);
  });
});
