/// <reference lib="dom" />
// The web console on a `broker --cluster` node (docs/console.md, docs/cluster.md), in Debian's
// headless Chromium: it shows that node's clients, and what it publishes reaches the other node.
import { expect } from "bun:test";
import { freePort, pingpong, Proc, testWithPrograms } from "./harness";
import { startNode, startRedis } from "./cluster-harness";
import { CHROMIUM, launchChromium, openPage, screenshot } from "./support/browser";

const WAIT = { timeout: 20_000 };

testWithPrograms(["redis-server", "mosquitto_sub", CHROMIUM], "a console on a --cluster node lists that node's clients, and its publish reaches a subscriber on another node", async () => {
  const redis = await startRedis();
  const httpPort = await freePort();
  const [a, b] = await Promise.all([startNode(redis.url, "a", "--http-port", String(httpPort), "--sys-interval", "0"), startNode(redis.url, "b")]);
  await a.proc.waitFor(new RegExp(`Web console: http://127\\.0\\.0\\.1:${httpPort}/`));
  pingpong("echo", "--port", String(a.port), "--client-id", "echo-on-a");
  await a.proc.waitFor(/Client echo-on-a subscribed to \/ping/);
  const sub = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(b.port), "-i", "sub-on-b", "-t", "across/nodes", "-v", "-C", "1"]);
  await b.proc.waitFor(/Client sub-on-b subscribed to across\/nodes/);

  const browser = await launchChromium();
  try {
    const { page, errors, close } = await openPage(browser, `http://127.0.0.1:${httpPort}/#clients`);
    await page.waitForFunction(() => document.getElementById("connection")?.textContent === "live", null, WAIT);
    await page.locator('#clients-table tr[data-client-id="echo-on-a"]').waitFor(WAIT);
    // This node's clients only: the subscriber is node B's.
    expect(await page.locator("#clients-table tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-client-id")))).toEqual(["echo-on-a"]);
    await screenshot(page, "console-cluster-clients");

    await page.click('#tabs button[data-tab="overview"]');
    await page.waitForFunction(() => document.getElementById("clients-connected")?.textContent === "1", null, WAIT);
    await page.click('#tabs button[data-tab="publish"]');
    await page.fill('#publish-form [name="topic"]', "across/nodes");
    await page.fill('#publish-form [name="payload"]', "from node a's console");
    await page.selectOption('#publish-form [name="qos"]', "1");
    await page.click('#publish-form button[type="submit"]');
    expect(await sub.waitExit(20_000)).toBe(0);
    expect(sub.stdoutLines).toEqual(["across/nodes from node a's console"]);
    await page.waitForFunction(() => document.getElementById("publish-result")?.textContent === "Published to across/nodes.", null, WAIT);
    await a.proc.waitFor(/Console: published 21 character\(s\) to across\/nodes \(QoS 1\)\./);
    await screenshot(page, "console-cluster-publish");
    expect(errors).toEqual([]);
    await close();
  } finally {
    await browser.close();
  }
}, 90_000);
