// The console page: loads the broker's state, follows its event stream, and draws the overview and
// the publish/subscribe tab. The other tabs live in clients.js, topics.js and latency.js.
import { drawLines } from "./charts.js";
import { el, formatBytes, formatDuration, formatNumber, payloadLine, post } from "./format.js";
import { showClients, startClients } from "./clients.js";
import { startTopics, updateTopics } from "./topics.js";
import { drawLatency } from "./latency.js";

/** The chart spans the points there are, from 30 s up to the 15 minutes the broker keeps. */
const RATE_WINDOW_MS = 15 * 60_000;
const RATE_POINTS = 900;
const RATE_WINDOW_MIN_MS = 30_000;
const state = { rates: [], overview: null, queues: null, latency: null, ticks: 0 };
const $ = (id) => document.getElementById(id);

function setText(id, value) {
  $(id).textContent = value;
}

function showTab(name) {
  for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const section of document.querySelectorAll("section.tab")) section.hidden = section.id !== name;
  if (name === "clients") showClients();
  if (name === "latency" && state.latency) drawLatency(state.latency);
  if (name === "overview") drawOverview();
  // replaceState, not location.hash: the browser would scroll to the section of that id.
  history.replaceState(null, "", `#${name}`);
}

function drawOverview() {
  const o = state.overview;
  if (o) {
    setText("version", `v${o.version}`);
    setText("clients-connected", formatNumber(o.clientsConnected));
    setText("subscriptions", formatNumber(o.subscriptions));
    setText("retained", formatNumber(o.retainedMessages));
    setText("queued", formatBytes(o.bytesQueued));
    setText("msgs-total", `${formatNumber(o.messagesReceived)} · ${formatNumber(o.messagesSent)}`);
    setText("memory", `${formatBytes(o.memoryRssBytes)} · ${formatBytes(o.memoryHeapUsedBytes)}`);
    setText("uptime", formatDuration(o.uptimeSec));
  }
  if (state.queues) setText("queued-messages", `${formatNumber(state.queues.queued)} · ${formatNumber(state.queues.dropped)}`);
  const last = state.rates[state.rates.length - 1];
  if (last) {
    setText("msgs-rate", `${formatNumber(last.messagesIn)} · ${formatNumber(last.messagesOut)}`);
    setText("bytes-rate", `${formatBytes(last.bytesIn)} · ${formatBytes(last.bytesOut)}`);
  }
  if ($("overview").hidden) return;
  const series = (field) => state.rates.map((r) => ({ at: r.at, value: r[field] }));
  const span = state.rates.length ? Date.now() - state.rates[0].at : 0;
  const windowMs = Math.min(RATE_WINDOW_MS, Math.max(RATE_WINDOW_MIN_MS, span + 1000));
  drawLines($("msgs-chart"), [{ className: "in", points: series("messagesIn") }, { className: "out", points: series("messagesOut") }], windowMs, formatNumber, 1);
  drawLines($("bytes-chart"), [{ className: "in", points: series("bytesIn") }, { className: "out", points: series("bytesOut") }], windowMs, formatBytes, 1024);
}

async function load() {
  const response = await fetch("/api/state");
  if (response.status === 401) return void location.reload();
  const initial = await response.json();
  state.overview = initial.overview;
  state.queues = initial.queues;
  state.rates = initial.rates;
  state.latency = initial.latency;
  $("listeners").replaceChildren(...initial.listeners.map((address) => el("li", {}, address)));
  updateTopics(initial.topics, [], true);
  drawOverview();
  if (!$("latency").hidden) drawLatency(state.latency);
}

function follow() {
  const events = new EventSource("/api/events");
  events.addEventListener("hello", () => {
    $("connection").textContent = "live";
    $("connection").className = "badge live";
  });
  events.addEventListener("tick", (event) => {
    const tick = JSON.parse(event.data);
    state.overview = tick.overview;
    state.queues = tick.queues;
    if (tick.rate) state.rates.push(tick.rate);
    if (state.rates.length > RATE_POINTS) state.rates.shift();
    state.latency = tick.latency;
    drawOverview();
    updateTopics(tick.topics, tick.topTopics, false);
    if (!$("latency").hidden) drawLatency(state.latency);
    // The client table is a request of its own (a row per client): every other second is enough.
    if (!$("clients").hidden && ++state.ticks % 2 === 0) showClients();
  });
  events.addEventListener("message", (event) => addLiveMessage(JSON.parse(event.data)));
  events.addEventListener("error", () => {
    $("connection").textContent = "reconnecting…";
    $("connection").className = "badge down";
  });
}

function addLiveMessage(message) {
  const list = $("live-messages");
  const flags = `q${message.qos}${message.retain ? " r" : ""}`;
  list.prepend(el("li", { class: "live-message" }, el("b", {}, message.topic), ` [${flags}] `, payloadLine(message.payload, 200)));
  while (list.children.length > 200) list.lastChild.remove();
  if (message.skipped) $("live-result").textContent = `${message.skipped} message(s) skipped (more than 50 a second)`;
}

function startPublishTab() {
  $("publish-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const request = { topic: form.get("topic"), payload: form.get("payload"), qos: Number(form.get("qos")), retain: form.get("retain") === "on" };
    try {
      await post("/api/publish", request);
      $("publish-result").textContent = `Published to ${request.topic}.`;
    } catch (error) {
      $("publish-result").textContent = `Not published: ${error.message}`;
    }
  });
  $("live-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const filter = new FormData(event.target).get("filter");
    try {
      await post("/api/subscribe", { filter });
      $("live-messages").replaceChildren();
      $("live-result").textContent = `Following ${filter}.`;
    } catch (error) {
      $("live-result").textContent = `Not subscribed: ${error.message}`;
    }
  });
  $("live-stop").addEventListener("click", async () => {
    await post("/api/subscribe", { filter: null });
    $("live-result").textContent = "Stopped.";
  });
}

const user = document.querySelector('meta[name="console-user"]')?.content;
if (user) {
  setText("user", document.documentElement.dataset.role === "viewer" ? `${user} (read-only)` : user);
  $("logout").hidden = false;
  $("logout").addEventListener("click", async () => {
    await fetch("/logout", { method: "POST", headers: { "X-Console-Token": document.querySelector('meta[name="console-token"]').content } });
    location.reload();
  });
}
for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
startClients();
startTopics();
startPublishTab();
await load();
follow();
showTab(location.hash.slice(1) || "overview");
