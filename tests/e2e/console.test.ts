/// <reference lib="dom" />
// The web console (`broker --http-port N`, docs/console.md) in Debian's headless Chromium: what the
// page shows follows the broker, and what it does reaches real clients (mosquitto_pub/sub, echo).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { freePort, hasProgram, IN_CI, pingpong, Proc, startBroker } from "./harness";
import mqtt from "mqtt";
import { CHROMIUM, launchChromium, openPage, screenshot } from "./support/browser";
import { stuckSubscriber } from "./support/stuck-subscriber";

const WAIT = { timeout: 20_000 };
const haveChromium = hasProgram(CHROMIUM);
if (!haveChromium && !IN_CI) console.warn(`SKIPPED console tests: ${CHROMIUM} not installed (apt-get install chromium)`);
const haveMosquittoClients = hasProgram("mosquitto_pub") && hasProgram("mosquitto_sub");

let browser: Browser;
beforeAll(async () => {
  if (!haveChromium) {
    if (IN_CI) throw new Error(`${CHROMIUM} not installed; .ci/run must install chromium`);
    return;
  }
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const browserTest = (name: string, body: () => Promise<void>) => (haveChromium || IN_CI ? test : test.skip)(name, body, 90_000);
function needMosquittoClients(): void {
  if (!haveMosquittoClients) throw new Error("mosquitto_pub/mosquitto_sub not installed (apt-get install mosquitto-clients)");
}

async function consoleBroker(...extra: string[]) {
  const httpPort = await freePort();
  const broker = await startBroker("--http-port", String(httpPort), "--sys-interval", "0", ...extra);
  return { ...broker, base: `http://127.0.0.1:${httpPort}` };
}

function mosquitto(tool: "mosquitto_pub" | "mosquitto_sub", port: number, ...args: string[]): Proc {
  return new Proc([tool, "-h", "127.0.0.1", "-p", String(port), ...args]);
}

async function showTab(page: Page, tab: string): Promise<void> {
  await page.click(`#tabs button[data-tab="${tab}"]`);
}

/** The first message a new subscriber to `filter` gets: a retained one, or else the marker published after it subscribed. */
async function firstMessageFor(broker: { proc: Proc; port: number }, filter: string, markerTopic: string): Promise<string> {
  const logged = new RegExp(`subscribed to ${filter.replace(/[#+/]/g, "\\$&")} `);
  const before = broker.proc.lines.filter((line) => logged.test(line)).length;
  const sub = mosquitto("mosquitto_sub", broker.port, "-V", "5", "-t", filter, "-v", "-C", "1");
  await broker.proc.waitForCount(logged, before + 1);
  expect(await mosquitto("mosquitto_pub", broker.port, "-t", markerTopic, "-m", "marker").waitExit()).toBe(0);
  expect(await sub.waitExit()).toBe(0);
  return sub.stdoutLines[0] ?? "";
}

describe("web console", () => {
  browserTest("opens on the HTTP port; the client count and the client table follow an echo connecting", async () => {
    const broker = await consoleBroker();
    const { page, errors, close } = await openPage(browser, `${broker.base}/`);
    await page.waitForFunction(() => document.getElementById("clients-connected")?.textContent === "0", null, WAIT);
    await page.waitForFunction(() => document.getElementById("connection")?.textContent === "live", null, WAIT);
    const echo = pingpong("echo", "--url", broker.url, "--client-id", "console-echo");
    await echo.waitFor(/[Ss]ubscribed|waiting|Echoing/);
    await page.waitForFunction(() => document.getElementById("clients-connected")?.textContent === "1", null, WAIT);
    await screenshot(page, "console-overview");
    await showTab(page, "clients");
    const row = page.locator('#clients-table tr[data-client-id="console-echo"]');
    await row.waitFor(WAIT);
    const cells = await row.locator("td").allTextContents();
    expect(cells[0]).toBe("console-echo");
    expect(cells[2]).toBe("127.0.0.1");
    expect(cells[3]).toBe("5");
    expect(cells[4]).toBe("tcp");
    expect(cells[6]).toBe("1"); // its subscription to /ping
    await row.click();
    await page.waitForFunction(() => document.getElementById("client-detail-subscriptions")?.textContent?.includes("/ping"), null, WAIT);
    await screenshot(page, "console-clients");
    expect(errors).toEqual([]);
    await close();
  });

  browserTest("a message published with mosquitto_pub appears in the topic tree; its payload as text, JSON and hex", async () => {
    needMosquittoClients();
    const broker = await consoleBroker();
    const { page, errors, close } = await openPage(browser, `${broker.base}/#topics`);
    await page.waitForFunction(() => document.getElementById("connection")?.textContent === "live", null, WAIT);
    expect(await mosquitto("mosquitto_pub", broker.port, "-t", "plant/boiler/state", "-m", '{"temperature":71.5,"on":true}', "-q", "1").waitExit()).toBe(0);
    const node = page.locator('#topic-tree [data-topic="plant/boiler/state"]');
    await node.waitFor(WAIT);
    await node.click();
    await page.waitForFunction(() => document.getElementById("payload-view")?.textContent === '{"temperature":71.5,"on":true}', null, WAIT);
    await page.check('input[name="payload-format"][value="json"]');
    expect(await page.textContent("#payload-view")).toBe('{\n  "temperature": 71.5,\n  "on": true\n}');
    await page.check('input[name="payload-format"][value="hex"]');
    expect(await page.textContent("#payload-view")).toStartWith("000000  7b 22 74 65");
    await page.fill("#topic-search", "nothing-like-it");
    await page.waitForFunction(() => document.querySelectorAll("#topic-tree [data-topic]").length === 0, null, WAIT);
    await page.fill("#topic-search", "boiler");
    await node.waitFor(WAIT);
    await screenshot(page, "console-topics");
    expect(errors).toEqual([]);
    await close();
  });

  browserTest("payloads are shown as text: an <img onerror> or <script> payload does not run", async () => {
    needMosquittoClients();
    const broker = await consoleBroker();
    const { page, close } = await openPage(browser, `${broker.base}/#topics`);
    await page.waitForFunction(() => document.getElementById("connection")?.textContent === "live", null, WAIT);
    const attack = `<img src=x onerror="document.title='pwned';window.pwned=1"><script>window.pwned=2</script>`;
    expect(await mosquitto("mosquitto_pub", broker.port, "-t", "xss/probe", "-m", attack).waitExit()).toBe(0);
    const node = page.locator('#topic-tree [data-topic="xss/probe"]');
    await node.waitFor(WAIT);
    await node.click();
    await page.waitForFunction((text) => document.getElementById("payload-view")?.textContent === text, attack, WAIT);
    // The tree's one-line preview holds the same characters as text.
    expect(await page.locator("#topic-tree li:has([data-topic='xss/probe']) .payload").textContent()).toContain("<img src=x onerror=");
    expect(await page.evaluate(() => ({ pwned: (window as unknown as { pwned?: number }).pwned, title: document.title, images: document.images.length, scripts: document.querySelectorAll("main script").length }))).toEqual({
      pwned: undefined,
      title: "mqtt-pingpong console",
      images: 0,
      scripts: 0,
    });
    await screenshot(page, "console-xss-as-text");
    await close();
  });

  browserTest("publishing from the form reaches a mosquitto_sub; the live box shows what mosquitto_pub sends", async () => {
    needMosquittoClients();
    const broker = await consoleBroker();
    const { page, errors, close } = await openPage(browser, `${broker.base}/#publish`);
    await page.waitForFunction(() => document.getElementById("connection")?.textContent === "live", null, WAIT);
    const sub = mosquitto("mosquitto_sub", broker.port, "-V", "5", "-t", "from/page", "-v", "-C", "1");
    await broker.proc.waitFor(/subscribed to from\/page/);
    await page.fill('#publish-form [name="topic"]', "from/page");
    await page.fill('#publish-form [name="payload"]', "hello from the console");
    await page.selectOption('#publish-form [name="qos"]', "1");
    await page.click('#publish-form button[type="submit"]');
    expect(await sub.waitExit()).toBe(0);
    expect(sub.stdoutLines).toEqual(["from/page hello from the console"]);
    await page.waitForFunction(() => document.getElementById("publish-result")?.textContent === "Published to from/page.", null, WAIT);

    await page.fill('#live-form [name="filter"]', "sensors/#");
    await page.click('#live-form button[type="submit"]');
    await page.waitForFunction(() => document.getElementById("live-result")?.textContent === "Following sensors/#.", null, WAIT);
    expect(await mosquitto("mosquitto_pub", broker.port, "-t", "sensors/door", "-m", "open").waitExit()).toBe(0);
    expect(await mosquitto("mosquitto_pub", broker.port, "-t", "other/door", "-m", "not shown").waitExit()).toBe(0);
    await page.waitForFunction(() => document.getElementById("live-messages")?.textContent?.includes("sensors/door [q0] open"), null, WAIT);
    await screenshot(page, "console-publish");
    expect(await page.textContent("#live-messages")).not.toContain("other/door");
    expect(errors).toEqual([]);
    await close();
  });

  browserTest("disconnecting a client from the page ends its connection", async () => {
    const broker = await consoleBroker();
    const echo = pingpong("echo", "--url", broker.url, "--client-id", "to-be-kicked");
    await broker.proc.waitFor(/Client to-be-kicked connected/);
    const { page, close } = await openPage(browser, `${broker.base}/#clients`);
    page.on("dialog", (dialog) => void dialog.accept());
    const row = page.locator('#clients-table tr[data-client-id="to-be-kicked"]');
    await row.waitFor(WAIT);
    await row.click();
    await page.waitForFunction(() => document.getElementById("client-detail-id")?.textContent === "to-be-kicked", null, WAIT);
    await page.click("#client-disconnect");
    // echo ends with exit status 3 when its connection is lost.
    expect(await echo.waitExit(20_000)).toBe(3);
    await broker.proc.waitFor(/Console: disconnected client to-be-kicked\./);
    await broker.proc.waitFor(/Client to-be-kicked disconnected/);
    await page.locator('#clients-table tr[data-client-id="to-be-kicked"]').waitFor({ state: "detached", ...WAIT });
    await close();
  });

  browserTest("'has backlog / dropping' finds the subscriber that stopped reading, with its dropped messages", async () => {
    const broker = await consoleBroker("--max-queued", "20");
    const stuck = await stuckSubscriber(broker.port, "bulk/#", 0);
    const healthy = pingpong("echo", "--url", broker.url, "--client-id", "keeps-up");
    await broker.proc.waitFor(/Client keeps-up subscribed/);
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, clientId: "bulk-publisher" });
    const payload = Buffer.alloc(16 * 1024, 0x78);
    for (let i = 0; i < 2000; i++) publisher.publish("bulk/data", payload, { qos: 0 });
    await broker.proc.waitFor(/Client stuck-0 is not keeping up: \d+ QoS 0 message\(s\) dropped/, 20_000);
    const { page, close } = await openPage(browser, `${broker.base}/#clients`);
    await page.locator('#clients-table tr[data-client-id="keeps-up"]').waitFor(WAIT);
    await page.check("#client-backlog");
    await page.waitForFunction(() => [...document.querySelectorAll("#clients-table tbody tr")].map((tr) => tr.getAttribute("data-client-id")).join() === "stuck-0", null, WAIT);
    const cells = await page.locator('#clients-table tr[data-client-id="stuck-0"] td').allTextContents();
    expect(Number(cells[9]!.replace(/,/g, ""))).toBeGreaterThan(0); // dropped
    expect(await page.getAttribute('#clients-table tr[data-client-id="stuck-0"]', "class")).toContain("backlog");
    await screenshot(page, "console-backlog");
    await showTab(page, "overview");
    // Queued (now) · dropped (so far): some were dropped for stuck-0.
    await page.waitForFunction(() => / · [1-9][\d,]*$/.test(document.getElementById("queued-messages")?.textContent ?? ""), null, WAIT).catch(async (error) => {
      throw new Error(`${(error as Error).message}; the card shows "${await page.textContent("#queued-messages")}"`);
    });
    stuck.destroy();
    await publisher.endAsync();
    healthy.kill();
    await close();
  });

  browserTest("a retained branch deleted from the page is gone for a new subscriber", async () => {
    needMosquittoClients();
    const broker = await consoleBroker();
    for (const [topic, payload] of [["keep/a", "1"], ["keep/b/c", "2"], ["keepsake", "3"]]) {
      expect(await mosquitto("mosquitto_pub", broker.port, "-t", topic!, "-m", payload!, "-r", "-q", "1").waitExit()).toBe(0);
    }
    // Before: a new subscriber gets a retained message first.
    expect(await firstMessageFor(broker, "keep/#", "keep/marker")).toMatch(/^keep\/(a 1|b\/c 2)$/);
    const { page, close } = await openPage(browser, `${broker.base}/#topics`);
    page.on("dialog", (dialog) => void dialog.accept());
    const branch = page.locator('#topic-tree [data-topic="keep"]');
    await branch.waitFor(WAIT);
    await branch.click();
    await page.click("#retained-delete-branch");
    await page.waitForFunction(() => document.getElementById("topic-action-result")?.textContent === "Deleted 2 retained message(s).", null, WAIT);
    // After: the first message is the marker published after subscribing; nothing retained is left under keep/.
    expect(await firstMessageFor(broker, "keep/#", "keep/marker")).toBe("keep/marker marker");
    // keepsake is not under the branch keep/: still retained.
    expect(await firstMessageFor(broker, "keepsake", "keepsake")).toBe("keepsake 3");
    await close();
  });

  browserTest("the latency chart gets points from the broker's probe, and dots from a running ping", async () => {
    const broker = await consoleBroker();
    const { page, close } = await openPage(browser, `${broker.base}/#latency`);
    await page.waitForFunction(() => document.querySelectorAll("#latency-chart rect.probe-point").length >= 1, null, WAIT);
    await page.waitForFunction(() => document.getElementById("latency-p50")?.textContent?.match(/\d/), null, WAIT);
    const echo = pingpong("echo", "--url", broker.url);
    await broker.proc.waitFor(/subscribed to \/ping/);
    const ping = pingpong("ping", "--url", broker.url, "-c", "5", "-I", "200ms");
    expect(await ping.waitExit(20_000)).toBe(0);
    await page.waitForFunction(() => document.querySelectorAll("#latency-chart circle.ping").length >= 1, null, WAIT);
    // The five probes and their echoes, as the broker saw them pass.
    await page.waitForFunction(() => /^5, last median \d/.test(document.getElementById("latency-ping")?.textContent ?? ""), null, WAIT);
    await screenshot(page, "console-latency");
    echo.kill();
    await close();
  });
});

describe("web console with traffic", () => {
  browserTest("the overview charts messages and bytes per second while echo and ping run (docs/console.png)", async () => {
    needMosquittoClients();
    const broker = await consoleBroker();
    for (const [topic, payload] of [["home/livingroom/temperature", "21.5"], ["home/kitchen/light", '{"on":true,"level":80}'], ["factory/line1/speed", "1200"]]) {
      expect(await mosquitto("mosquitto_pub", broker.port, "-t", topic!, "-m", payload!, "-r").waitExit()).toBe(0);
    }
    const echo = pingpong("echo", "--url", broker.url, "--client-id", "echo-1");
    await broker.proc.waitFor(/subscribed to \/ping/);
    const { page, errors, close } = await openPage(browser, `${broker.base}/`);
    pingpong("ping", "--url", broker.url, "--client-id", "ping-1", "-I", "50ms");
    for (const id of ["dashboard-1", "dashboard-2"]) new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(broker.port), "-i", id, "-t", "home/#"]);
    const chartPoints = () => page.evaluate(() => document.querySelector("#msgs-chart path.in")?.getAttribute("d")?.split("L").length ?? 0);
    await page.waitForFunction(() => (document.querySelector("#msgs-chart path.in")?.getAttribute("d")?.split("L").length ?? 0) >= 5, null, { timeout: 30_000 });
    // Then a sensor publishing 50 a second, which both dashboards get.
    pingpong("pub", "--url", broker.url, "--client-id", "power-meter", "--topic", "home/kitchen/power", "--message", "1250", "--repeat", "1000", "--repeat-delay", "20ms");
    const before = await chartPoints();
    await page.waitForFunction((count) => (document.querySelector("#msgs-chart path.in")?.getAttribute("d")?.split("L").length ?? 0) >= count + 8, before, { timeout: 30_000 });
    expect(Number(await page.textContent("#clients-connected"))).toBe(5);
    expect(await page.textContent("#retained")).toBe("3");
    expect(errors).toEqual([]);
    await screenshot(page, "console-overview-traffic");
    echo.kill();
    await close();
  });
});

describe("web console history", () => {
  browserTest("the rate chart opens full: traffic from before the page opened is on it", async () => {
    const broker = await consoleBroker();
    // 300 messages over about 3 s, with no page open, then quiet.
    const pub = pingpong("pub", "--url", broker.url, "--topic", "before/page", "--message", "x", "--repeat", "300", "--repeat-delay", "10ms");
    expect(await pub.waitExit(30_000)).toBe(0);
    // The broker's own history (not a page's) holds the traffic, and has recorded the quiet after it.
    type Rate = { at: number; messagesIn: number };
    const deadline = Date.now() + 20_000;
    let rates: Rate[] = [];
    for (;;) {
      rates = ((await (await fetch(`${broker.base}/api/state`)).json()) as { rates: Rate[] }).rates;
      if (rates.some((rate) => rate.messagesIn > 0) && rates.at(-1)!.messagesIn === 0) break;
      if (Date.now() > deadline) throw new Error(`no traffic in the broker's rate history; its last points: ${JSON.stringify(rates.slice(-5))}`);
      await Bun.sleep(200);
    }
    const { page, errors, close } = await openPage(browser, `${broker.base}/`);
    const busyPoints = () =>
      page.evaluate(() => {
        const ys = (document.querySelector("#msgs-chart path.in")?.getAttribute("d") ?? "").split(/[ML]/).filter(Boolean).map((point) => Number(point.split(",")[1]));
        const baseline = Math.max(...ys);
        return ys.filter((y) => y < baseline - 1).length;
      });
    await page.waitForFunction(() => document.querySelector("#msgs-chart path.in") !== null, null, WAIT);
    // Nothing was published since the page opened: every point above zero is from before it.
    expect(await busyPoints()).toBeGreaterThanOrEqual(2);
    expect(await page.textContent("#msgs-rate")).toBe("0 · 0");
    await screenshot(page, "console-history");
    expect(errors).toEqual([]);
    await close();
  });
});

describe("console security", () => {
  browserTest("with --password-file: unauthenticated requests are refused, a user of the file logs in", async () => {
    const dir = mkdtempSync(join(tmpdir(), "console-auth-"));
    const file = join(dir, "passwd");
    expect(await pingpong("passwd", "-b", file, "operator", "console-Pass-1").waitExit()).toBe(0);
    const broker = await consoleBroker("--password-file", file);
    expect((await fetch(`${broker.base}/api/state`)).status).toBe(401);
    expect((await fetch(`${broker.base}/api/clients`)).status).toBe(401);
    expect((await fetch(`${broker.base}/api/events`)).status).toBe(401);
    const post = await fetch(`${broker.base}/api/publish`, { method: "POST", headers: { Origin: broker.base, "Content-Type": "application/json" }, body: '{"topic":"x","payload":"y"}' });
    expect(post.status).toBe(403);
    const { page, close } = await openPage(browser, `${broker.base}/`);
    await page.fill('[name="user"]', "operator");
    await page.fill('[name="password"]', "wrong");
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => document.querySelector(".error")?.textContent === "Wrong user name or password.", null, WAIT);
    await page.fill('[name="user"]', "operator");
    await page.fill('[name="password"]', "console-Pass-1");
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => document.getElementById("connection")?.textContent === "live", null, WAIT);
    expect(await page.textContent("#user")).toBe("operator");
    await close();
  });

  browserTest("with --console-admins: another user of the file sees no buttons that act, and its POSTs get 403", async () => {
    needMosquittoClients();
    const dir = mkdtempSync(join(tmpdir(), "console-admins-"));
    const file = join(dir, "passwd");
    expect(await pingpong("passwd", "-b", file, "alice", "alice-Pass-1").waitExit()).toBe(0);
    expect(await pingpong("passwd", "-b", file, "bob", "bob-Pass-1").waitExit()).toBe(0);
    const broker = await consoleBroker("--password-file", file, "--console-admins", "alice");
    expect(await mosquitto("mosquitto_pub", broker.port, "-u", "alice", "-P", "alice-Pass-1", "-t", "kept/state", "-m", "on", "-r").waitExit()).toBe(0);
    const echo = pingpong("echo", "--url", broker.url, "--client-id", "watched-echo", "--username", "alice", "--password", "alice-Pass-1");
    await broker.proc.waitFor(/Client watched-echo subscribed/);

    const logIn = async (user: string, password: string) => {
      const opened = await openPage(browser, `${broker.base}/`);
      await opened.page.fill('[name="user"]', user);
      await opened.page.fill('[name="password"]', password);
      await opened.page.click('button[type="submit"]');
      await opened.page.waitForFunction(() => document.getElementById("connection")?.textContent === "live", null, WAIT);
      return opened;
    };
    /** A POST from the page itself (its Origin, cookie and token), as its buttons send them. */
    const postFromPage = (page: Page, path: string, body: unknown) =>
      page.evaluate(
        async ([path, body]) => {
          const token = document.querySelector<HTMLMetaElement>('meta[name="console-token"]')!.content;
          const response = await fetch(path as string, { method: "POST", headers: { "Content-Type": "application/json", "X-Console-Token": token }, body: JSON.stringify(body) });
          return response.status;
        },
        [path, body] as const,
      );

    const viewer = await logIn("bob", "bob-Pass-1");
    expect(await viewer.page.textContent("#user")).toBe("bob (read-only)");
    await showTab(viewer.page, "clients");
    await viewer.page.locator('#clients-table tr[data-client-id="watched-echo"]').click();
    await viewer.page.waitForFunction(() => document.getElementById("client-detail-id")?.textContent === "watched-echo", null, WAIT);
    expect(await viewer.page.isVisible("#client-disconnect")).toBe(false);
    await showTab(viewer.page, "topics");
    await viewer.page.locator('#topic-tree [data-topic="kept/state"]').click();
    await viewer.page.waitForFunction(() => document.getElementById("payload-view")?.textContent === "on", null, WAIT);
    expect(await viewer.page.isVisible("#retained-delete")).toBe(false);
    expect(await viewer.page.isVisible("#retained-delete-branch")).toBe(false);
    await showTab(viewer.page, "publish");
    expect(await viewer.page.isVisible("#publish-form")).toBe(false);
    expect(await viewer.page.isVisible("#live-form")).toBe(true);
    expect(await viewer.page.textContent("#publish .viewer-only")).toContain("--console-admins");
    expect(await viewer.page.isVisible("#publish .viewer-only")).toBe(true);
    await screenshot(viewer.page, "console-read-only");
    expect(await postFromPage(viewer.page, "/api/publish", { topic: "a/b", payload: "x" })).toBe(403);
    expect(await postFromPage(viewer.page, "/api/disconnect", { clientId: "watched-echo" })).toBe(403);
    expect(await postFromPage(viewer.page, "/api/retained/delete", { topic: "kept/state", recursive: false })).toBe(403);
    // Following a filter live is looking, not acting.
    expect(await postFromPage(viewer.page, "/api/subscribe", { filter: "kept/#" })).toBe(200);
    // Nothing was deleted: a new subscriber still gets the retained message.
    const check = mosquitto("mosquitto_sub", broker.port, "-u", "alice", "-P", "alice-Pass-1", "-t", "kept/state", "-v", "-C", "1");
    expect(await check.waitExit()).toBe(0);
    expect(check.stdoutLines).toEqual(["kept/state on"]);
    await viewer.close();

    const operator = await logIn("alice", "alice-Pass-1");
    expect(await operator.page.textContent("#user")).toBe("alice");
    expect(await postFromPage(operator.page, "/api/disconnect", { clientId: "watched-echo" })).toBe(200);
    expect(await echo.waitExit(20_000)).toBe(3);
    await broker.proc.waitFor(/Console \(alice\): disconnected client watched-echo\./);
    await operator.close();
  });

  test("--console-admins without --password-file, or without --http-port, is a usage error", async () => {
    const noFile = pingpong("broker", "--port", String(await freePort()), "--http-port", String(await freePort()), "--console-admins", "alice");
    expect(await noFile.waitExit()).toBe(2);
    expect(noFile.output()).toContain("--console-admins needs --password-file");
    const dir = mkdtempSync(join(tmpdir(), "console-admins-"));
    const file = join(dir, "passwd");
    expect(await pingpong("passwd", "-b", file, "alice", "alice-Pass-1").waitExit()).toBe(0);
    const noHttp = pingpong("broker", "--port", String(await freePort()), "--password-file", file, "--console-admins", "alice");
    expect(await noHttp.waitExit()).toBe(2);
    expect(noHttp.output()).toContain("--console-admins needs --http-port");
  });

  test("state changes are POSTs from the console's own origin with the page's token; other hosts are refused", async () => {
    const broker = await consoleBroker();
    const pageResponse = await fetch(`${broker.base}/`);
    const cookie = pageResponse.headers.get("set-cookie")!.split(";")[0]!;
    const token = (await pageResponse.text()).match(/name="console-token" content="([^"]+)"/)![1]!;
    const publish = (headers: Record<string, string>) =>
      fetch(`${broker.base}/api/publish`, { method: "POST", headers: { "Content-Type": "application/json", Cookie: cookie, ...headers }, body: '{"topic":"a/b","payload":"x"}' });
    expect((await publish({ "X-Console-Token": token })).status).toBe(403); // no Origin
    expect((await publish({ Origin: "http://evil.example", "X-Console-Token": token })).status).toBe(403);
    expect((await publish({ Origin: broker.base })).status).toBe(403); // no token
    expect((await publish({ Origin: broker.base, "X-Console-Token": "guess" })).status).toBe(403);
    expect((await publish({ Origin: broker.base, "X-Console-Token": token })).status).toBe(200);
    expect((await fetch(`${broker.base}/api/publish`)).status).toBe(404); // nothing changes on GET
    // DNS rebinding: a page from another name pointed at 127.0.0.1 reads nothing.
    expect((await fetch(`${broker.base}/api/state`, { headers: { Host: "evil.example" } })).status).toBe(421);
  });

  test("--http-host off loopback without --password-file: the broker refuses to start", async () => {
    const proc = pingpong("broker", "--port", String(await freePort()), "--http-port", String(await freePort()), "--http-host", "0.0.0.0");
    expect(await proc.waitExit()).toBe(2);
    expect(proc.output()).toContain("refusing to serve /metrics on 0.0.0.0 without authentication: give --password-file");
  });

  // Bound to 0.0.0.0 for the second this test lasts, but talked to only through 127.0.0.1; the MQTT
  // listener stays on loopback, and what the HTTP listener serves there (/healthz, /metrics) is read-only.
  test("--http-host 0.0.0.0 with --http-allow-anonymous and no password file: /metrics is served, the console is not", async () => {
    const httpPort = await freePort();
    const broker = await startBroker("--http-port", String(httpPort), "--http-host", "0.0.0.0", "--http-allow-anonymous", "--sys-interval", "0");
    try {
      await broker.proc.waitFor(/No web console on 0\.0\.0\.0: off loopback it needs --password-file\./);
      expect(broker.proc.output()).not.toContain("Web console:");
      const base = `http://127.0.0.1:${httpPort}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      for (const path of ["/", "/api/state", "/api/events", "/console/app.js"]) expect([path, (await fetch(`${base}${path}`)).status]).toEqual([path, 404]);
      const publish = await fetch(`${base}/api/publish`, { method: "POST", headers: { Origin: base, "Content-Type": "application/json" }, body: '{"topic":"a/b","payload":"x"}' });
      expect(publish.status).toBe(404);
    } finally {
      broker.proc.kill();
    }
  });

  test("`all --http-port N` prints the console's address", async () => {
    const httpPort = await freePort();
    const all = pingpong("all", "--port", String(await freePort()), "--http-port", String(httpPort), "-c", "1");
    await all.waitFor(new RegExp(`Web console: http://127\\.0\\.0\\.1:${httpPort}/`));
    expect((await fetch(`http://127.0.0.1:${httpPort}/`)).status).toBe(200);
    expect(await all.waitExit(20_000)).toBe(0);
  });
});
