// aedes-persistence-redis ships no types. Its default export wraps the async class in aedes-persistence's
// CallBackPersistence, which aedes 2 needs: it turns the async generators into the Readable streams
// aedes pipes (retained messages, offline queues, wills) and passes promises through.
declare module "aedes-persistence-redis" {
  import type { Redis } from "ioredis";
  export default function aedesPersistenceRedis(options?: {
    conn?: Redis;
    maxSessionDelivery?: number;
    packetTTL?: (packet: unknown) => number;
  }): { setup(broker: unknown): Promise<void>; destroy(): Promise<void> };
}
