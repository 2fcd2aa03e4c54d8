// Numbers, sizes and payloads as the page shows them. Everything from the broker goes into the page
// as text (textContent), never as HTML.

/** Builds an element; children are elements or strings (set as text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString("en");
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return Number(value.toFixed(2)).toString();
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds) {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

export function formatTime(epochMs) {
  return epochMs ? new Date(epochMs).toLocaleTimeString("en-GB") : "–";
}

export function base64ToBytes(base64) {
  const binary = atob(base64 || "");
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A payload's head as text, pretty JSON (when it parses) or a hex dump. `size` is the whole payload's. */
export function formatPayload(base64, size, format) {
  const bytes = base64ToBytes(base64);
  const cut = size > bytes.length ? `\n… ${size - bytes.length} more bytes` : "";
  if (format === "hex") {
    const lines = [];
    for (let offset = 0; offset < bytes.length; offset += 16) {
      const row = bytes.subarray(offset, offset + 16);
      const hex = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      const ascii = [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
      lines.push(`${offset.toString(16).padStart(6, "0")}  ${hex.padEnd(48)}  ${ascii}`);
    }
    return lines.join("\n") + cut;
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (format === "json") {
    try {
      return JSON.stringify(JSON.parse(text), null, 2) + cut;
    } catch {
      return `(not JSON) ${text}${cut}`;
    }
  }
  return text + cut;
}

/** One line of a payload for lists: text with control characters shown as dots, cut at `max`. */
export function payloadLine(base64, max = 60) {
  const text = new TextDecoder().decode(base64ToBytes(base64)).replace(/[\u0000-\u001f\u007f]/g, "·");
  return text.length > max ? text.slice(0, max) + "…" : text;
}

const token = document.querySelector('meta[name="console-token"]')?.content ?? "";

/** A state-changing request: a POST from this page with its session's token (the broker checks both). */
export async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Console-Token": token }, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}
