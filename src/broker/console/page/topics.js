// The Topics tab: a live tree of the topics seen since the page opened (and the retained ones), with
// search, rates, the last payload as text, JSON or hex, and deleting retained messages.
import { el, formatNumber, formatPayload, payloadLine, post } from "./format.js";

const $ = (id) => document.getElementById(id);
const MAX_NODES = 2000;
const topics = new Map();
let selected = null;
let dirty = false;
/** The tree as last drawn: its topics (in order), and each topic's rate, retained and payload elements. */
let drawnNames = "";
const drawnEntries = new Map();

/** Merges topic entries from the broker (all of them on load, the changed ones on each tick). */
export function updateTopics(entries, top, replace) {
  if (replace) topics.clear();
  for (const entry of entries) topics.set(entry.topic, entry);
  if (entries.length || replace) dirty = true;
  if (top) renderTop(top);
  if (!$("topics").hidden && dirty) render();
}

function renderTop(top) {
  $("top-topics").tBodies[0].replaceChildren(...top.map((t) => el("tr", {}, el("td", {}, t.topic), el("td", {}, formatNumber(t.rate)))));
}

/** Topic names into nested levels: { children: Map(level -> node), topic, entry }. */
function buildTree(names) {
  const root = { children: new Map() };
  for (const name of names) {
    let node = root;
    const levels = name.split("/");
    levels.forEach((level, index) => {
      if (!node.children.has(level)) node.children.set(level, { children: new Map(), topic: levels.slice(0, index + 1).join("/") });
      node = node.children.get(level);
    });
    node.entry = topics.get(name);
  }
  return root;
}

function entryText(entry) {
  return { rate: `${formatNumber(entry.rate)}/s`, retained: entry.retain ? "retained" : "", payload: payloadLine(entry.payload) };
}

function render() {
  dirty = false;
  const words = $("topic-search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const names = [...topics.keys()].filter((name) => words.every((word) => name.toLowerCase().includes(word))).sort();
  $("topic-count").textContent = `${names.length} of ${topics.size} topic(s)`;
  // Same topics as drawn: change the texts in place (a rebuild of a big tree every second would
  // keep the page busy).
  const joined = names.join("\n");
  if (joined === drawnNames) {
    for (const [topic, spans] of drawnEntries) {
      const text = entryText(topics.get(topic));
      for (const key of ["rate", "retained", "payload"]) if (spans[key].textContent !== text[key]) spans[key].textContent = text[key];
    }
    if (selected) showDetail();
    return;
  }
  drawnNames = joined;
  drawnEntries.clear();
  let budget = MAX_NODES;
  const list = (node) => {
    const items = [];
    for (const [level, child] of node.children) {
      if (budget-- <= 0) break;
      const label = el("span", { class: `node${child.topic === selected ? " selected" : ""}`, "data-topic": child.topic }, level === "" ? "(empty)" : level);
      label.addEventListener("click", () => select(child.topic));
      const li = el("li", {}, label);
      if (child.entry) {
        const text = entryText(child.entry);
        const spans = { rate: el("span", { class: "rate" }, text.rate), retained: el("span", { class: "retained" }, text.retained), payload: el("span", { class: "payload" }, text.payload) };
        li.append(spans.rate, spans.retained, spans.payload);
        drawnEntries.set(child.topic, spans);
      }
      if (child.children.size) li.append(list(child));
      items.push(li);
    }
    return el("ul", {}, ...items);
  };
  $("topic-tree").replaceChildren(list(buildTree(names)));
  if (selected) showDetail();
}

function select(topic) {
  for (const node of document.querySelectorAll("#topic-tree .node.selected")) node.classList.remove("selected");
  document.querySelector(`#topic-tree [data-topic="${CSS.escape(topic)}"]`)?.classList.add("selected");
  selected = topic;
  $("topic-action-result").textContent = "";
  showDetail();
}

function showDetail() {
  const entry = topics.get(selected);
  $("topic-detail").hidden = false;
  $("topic-detail-name").textContent = selected;
  const under = [...topics.values()].filter((t) => t.topic.startsWith(selected + "/"));
  const fields = entry
    ? [["Messages", formatNumber(entry.count)], ["Rate", `${formatNumber(entry.rate)} msg/s`], ["Size", `${entry.size} bytes`], ["QoS", String(entry.qos)], ["Retained", entry.retain ? "yes" : "no"]]
    : [["Topics under it", String(under.length)]];
  $("topic-detail-fields").replaceChildren(...fields.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
  const format = document.querySelector('input[name="payload-format"]:checked').value;
  // textContent: a payload is shown as the characters it holds, never read as HTML.
  $("payload-view").textContent = entry ? formatPayload(entry.payload, entry.size, format) : "";
  $("payload-view").classList.toggle("hex", format === "hex");
  $("retained-delete").hidden = !entry?.retain;
  $("retained-delete-branch").hidden = under.length === 0 && !entry?.retain;
}

async function deleteRetained(recursive) {
  const what = recursive ? `every retained message under ${selected}` : `the retained message of ${selected}`;
  if (!confirm(`Delete ${what}?`)) return;
  try {
    const { deleted } = await post("/api/retained/delete", { topic: selected, recursive });
    for (const topic of deleted) if (topics.has(topic)) topics.get(topic).retain = false;
    render();
    $("topic-action-result").textContent = `Deleted ${deleted.length} retained message(s).`;
  } catch (error) {
    $("topic-action-result").textContent = `Not deleted: ${error.message}`;
  }
}

export function startTopics() {
  $("topic-search").addEventListener("input", render);
  for (const radio of document.querySelectorAll('input[name="payload-format"]')) radio.addEventListener("change", () => selected && showDetail());
  $("retained-delete").addEventListener("click", () => deleteRetained(false));
  $("retained-delete-branch").addEventListener("click", () => deleteRetained(true));
  document.querySelector('#tabs button[data-tab="topics"]').addEventListener("click", render);
}
