// The Clients tab: a table read from /api/clients (refreshed while the tab is shown), a text filter,
// "has backlog / dropping", and one client's detail with its subscriptions and a Disconnect button.
import { el, formatBytes, formatNumber, formatTime, post } from "./format.js";

const $ = (id) => document.getElementById(id);
let rows = [];
let selected = null;
let loading = false;

function visibleRows() {
  const words = $("client-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  const backlogOnly = $("client-backlog").checked;
  return rows.filter((row) => {
    if (backlogOnly && row.queued === 0 && row.dropped === 0) return false;
    const haystack = `${row.id} ${row.user ?? ""} ${row.address}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

/** The row of each client shown, kept between refreshes: a refresh changes only the cells that changed. */
const rowElements = new Map();
let shownOrder = "";

function cellsOf(row) {
  const version = row.protocolVersion === 5 ? "5" : row.protocolVersion === 4 ? "3.1.1" : String(row.protocolVersion ?? "");
  return [row.id, row.user ?? "", row.address, version, row.transport, `${row.keepaliveSec} s`, formatNumber(row.subscriptions), formatNumber(row.inFlight), formatNumber(row.queued), formatNumber(row.dropped), formatBytes(row.bytesIn), formatBytes(row.bytesOut), formatTime(row.connectedAt)];
}

function rowElement(row) {
  let tr = rowElements.get(row.id);
  if (!tr) {
    tr = el("tr", { "data-client-id": row.id }, ...cellsOf(row).map(() => el("td")));
    tr.addEventListener("click", () => showDetail(row.id));
    rowElements.set(row.id, tr);
  }
  const cells = cellsOf(row);
  cells.forEach((text, index) => {
    if (tr.cells[index].textContent !== text) tr.cells[index].textContent = text;
  });
  tr.className = `${row.queued || row.dropped ? "backlog" : ""}${row.id === selected ? " selected" : ""}`;
  return tr;
}

function render() {
  const shown = visibleRows().sort((a, b) => a.id.localeCompare(b.id));
  $("client-count").textContent = `${shown.length} of ${rows.length} client(s)`;
  const trs = shown.map(rowElement);
  const ids = new Set(shown.map((row) => row.id));
  for (const id of rowElements.keys()) if (!ids.has(id)) rowElements.delete(id);
  const order = shown.map((row) => row.id).join("\n");
  if (order !== shownOrder) {
    shownOrder = order;
    $("clients-table").tBodies[0].replaceChildren(...trs);
  }
}

/** Reloads the table; called when the tab opens and on every tick while it is shown. */
export async function showClients() {
  if (loading) return;
  loading = true;
  try {
    const response = await fetch("/api/clients");
    if (response.ok) rows = await response.json();
    render();
    if (selected) await showDetail(selected, true);
  } finally {
    loading = false;
  }
}

async function showDetail(id, refresh = false) {
  selected = id;
  const response = await fetch(`/api/clients/${encodeURIComponent(id)}`);
  const aside = $("client-detail");
  if (!response.ok) {
    if (refresh) $("client-detail-id").textContent = `${id} (disconnected)`;
    return;
  }
  const detail = await response.json();
  aside.hidden = false;
  $("client-detail-id").textContent = detail.id;
  const fields = [
    ["User", detail.user ?? "(anonymous)"],
    ["Address", detail.address],
    ["Protocol", detail.protocolVersion === 5 ? "MQTT 5" : "MQTT 3.1.1"],
    ["Transport", detail.transport],
    ["Keep-alive", `${detail.keepaliveSec} s`],
    ["In flight", formatNumber(detail.inFlight)],
    ["Queued", formatNumber(detail.queued)],
    ["Dropped", formatNumber(detail.dropped)],
    ["Bytes in / out", `${formatBytes(detail.bytesIn)} / ${formatBytes(detail.bytesOut)}`],
    ["Connected since", detail.connectedAt ? new Date(detail.connectedAt).toLocaleString("en-GB") : "–"],
  ];
  $("client-detail-fields").replaceChildren(...fields.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
  $("client-detail-subscriptions").replaceChildren(...detail.subscriptionList.map((s) => el("li", {}, `${s.topic} (QoS ${s.qos})`)));
  if (!refresh) render();
}

export function startClients() {
  $("client-filter").addEventListener("input", render);
  $("client-backlog").addEventListener("change", render);
  $("client-disconnect").addEventListener("click", async () => {
    if (!selected || !confirm(`Disconnect client ${selected}?`)) return;
    try {
      await post("/api/disconnect", { clientId: selected });
      $("client-detail-id").textContent = `${selected} (disconnected)`;
    } catch (error) {
      $("client-detail-id").textContent = `${selected}: ${error.message}`;
    }
    await showClients();
  });
}
