// Charts drawn as SVG in the page (no library): a line chart of rates, and a smokeping-style latency
// chart (min..max band, median line, lost probes marked).
const SVG = "http://www.w3.org/2000/svg";
const PAD = { left: 56, right: 8, top: 8, bottom: 18 };

function svgEl(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function frame(svg) {
  const [, , width, height] = svg.getAttribute("viewBox").split(" ").map(Number);
  svg.replaceChildren();
  return { width, height, plotW: width - PAD.left - PAD.right, plotH: height - PAD.top - PAD.bottom };
}

/** A rounded top for the y axis: 1, 2 or 5 times a power of ten; for bytes (base 1024) 1, 2, 4 or 8 KiB, MiB..., whose quarters stay round. */
function niceMax(value, base = 10) {
  if (!(value > 0)) return 1;
  if (base === 1024) {
    const power = 1024 ** Math.max(0, Math.floor(Math.log(value) / Math.log(1024)));
    for (const step of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]) if (value <= step * power) return step * power;
  }
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function axes(svg, box, maxY, fromMs, toMs, formatY) {
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + box.plotH - (box.plotH * i) / 4;
    svg.append(svgEl("line", { class: "grid", x1: PAD.left, x2: box.width - PAD.right, y1: y, y2: y }));
    const label = svgEl("text", { x: PAD.left - 4, y: y + 4, "text-anchor": "end" });
    label.textContent = formatY((maxY * i) / 4);
    svg.append(label);
  }
  for (const [at, anchor] of [[fromMs, "start"], [toMs, "end"]]) {
    const label = svgEl("text", { x: anchor === "start" ? PAD.left : box.width - PAD.right, y: box.height - 4, "text-anchor": anchor });
    label.textContent = new Date(at).toLocaleTimeString("en-GB");
    svg.append(label);
  }
}

/** series: [{ className, points: [{ at, value }] }] over the window [toMs - windowMs, toMs]; the y axis reaches smallestMax at least. */
export function drawLines(svg, series, windowMs, formatY, smallestMax) {
  const box = frame(svg);
  const toMs = Date.now();
  const fromMs = toMs - windowMs;
  const maxY = niceMax(Math.max(smallestMax, ...series.flatMap((s) => s.points.map((p) => p.value))), smallestMax === 1024 ? 1024 : 10);
  axes(svg, box, maxY, fromMs, toMs, formatY);
  const x = (at) => PAD.left + ((at - fromMs) / windowMs) * box.plotW;
  const y = (value) => PAD.top + box.plotH - (value / maxY) * box.plotH;
  for (const { className, points } of series) {
    const visible = points.filter((p) => p.at >= fromMs);
    if (visible.length === 0) continue;
    const d = visible.map((p, i) => `${i ? "L" : "M"}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join("");
    svg.append(svgEl("path", { class: className, d }));
  }
}

/** buckets: [{ at, count, lost, minMs, p50Ms, maxMs }]; pings: the same for observed ping round trips. */
export function drawSmoke(svg, buckets, pings, bucketMs, windowMs, formatY) {
  const box = frame(svg);
  // To the end of the bucket now filling (buckets are aligned on multiples of bucketMs): its mark stays inside.
  const toMs = Math.ceil(Date.now() / bucketMs) * bucketMs;
  const fromMs = toMs - windowMs;
  const all = [...buckets, ...pings].filter((b) => b.at + bucketMs >= fromMs && b.maxMs !== null);
  const maxY = niceMax(Math.max(0, ...all.map((b) => b.maxMs)));
  axes(svg, box, maxY, fromMs, toMs, formatY);
  const x = (at) => PAD.left + ((at + bucketMs / 2 - fromMs) / windowMs) * box.plotW;
  const y = (value) => PAD.top + box.plotH - (Math.min(value, maxY) / maxY) * box.plotH;
  const width = Math.max(2, (bucketMs / windowMs) * box.plotW - 1);
  let median = "";
  for (const bucket of buckets) {
    if (bucket.at + bucketMs < fromMs) continue;
    if (bucket.count > 0) {
      svg.append(svgEl("rect", { class: "band probe-point", x: x(bucket.at) - width / 2, width, y: y(bucket.maxMs), height: Math.max(1, y(bucket.minMs) - y(bucket.maxMs)) }));
      median += `${median ? "L" : "M"}${x(bucket.at).toFixed(1)},${y(bucket.p50Ms).toFixed(1)}`;
    }
    if (bucket.lost > 0) {
      const mark = svgEl("rect", { class: "lost", x: x(bucket.at) - width / 2, width, y: PAD.top, height: 6 });
      const title = svgEl("title", {});
      title.textContent = `${bucket.lost} lost`;
      mark.append(title);
      svg.append(mark);
    }
  }
  if (median) svg.append(svgEl("path", { class: "median", d: median }));
  for (const ping of pings) {
    if (ping.at + bucketMs < fromMs || ping.count === 0) continue;
    svg.append(svgEl("circle", { class: "ping", cx: x(ping.at), cy: y(ping.p50Ms), r: 3 }));
  }
}
