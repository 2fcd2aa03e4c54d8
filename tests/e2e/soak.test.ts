import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { Proc } from "./harness";

// The CI-sized soak: 15 s of ping/echo pairs with connection churn (`bun run soak -- --minutes N` for
// longer), at QoS 0, 1 and 2 (QoS 2 pings keep to the broker's Receive Maximum, so load no longer cuts them off).
test("a 15 s soak: pairs lose nothing, the broker lives, its memory stops growing after warm-up", async () => {
  const soak = new Proc([process.execPath, resolve(import.meta.dir, "../../scripts/soak.ts"), "--minutes", "0.25", "--pairs", "4", "--qos", "0,1,2", "--json"]);
  const code = await soak.waitExit(90_000);
  const report = JSON.parse(soak.stdoutLines.find((line) => line.startsWith("{"))!) as {
    probes: number;
    lost: number;
    duplicates: number;
    brokerCrashed: boolean;
    churnedConnections: number;
    rssGrowthAfterWarmupMb: number;
    p99RttMs: number;
  };
  console.log(`soak: ${report.probes} probes, ${report.lost} lost, ${report.churnedConnections} churned connections, p99 ${report.p99RttMs} ms, RSS growth after warm-up ${report.rssGrowthAfterWarmupMb} MB`);
  expect(report.brokerCrashed).toBe(false);
  expect(report.probes).toBe(4 * 750);
  expect(report.lost).toBe(0);
  expect(report.duplicates).toBe(0);
  expect(report.churnedConnections).toBeGreaterThan(100);
  // A leak bound, not a speed: growth per churned connection kept (hundreds of them) would pass it,
  // while the collector's timing moves RSS by a few tens of MB. How fast is `npm run bench`'s question.
  expect(report.rssGrowthAfterWarmupMb).toBeLessThan(48);
  expect(code).toBe(0);
}, 120_000);
