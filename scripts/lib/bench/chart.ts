/** A small grouped bar chart as SVG text, for bench/results.svg: no dependency, readable on GitHub. */

export interface ChartGroup {
  label: string;
  /** One value per series; NaN leaves a gap. */
  values: number[];
}

export interface ChartPanel {
  title: string;
  unit: string;
  groups: ChartGroup[];
}

const COLORS = ["#2b6cb0", "#dd6b20", "#718096"];
const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function formatValue(value: number): string {
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

export function renderChart(series: string[], panels: ChartPanel[], caption: string): string {
  const width = 860;
  const panelHeight = 260;
  const top = 50;
  const height = top + panels.length * (panelHeight + 40) + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escape(caption)}</text>`,
  ];
  series.forEach((name, i) => {
    parts.push(`<rect x="${10 + i * 160}" y="30" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    parts.push(`<text x="${26 + i * 160}" y="40">${escape(name)}</text>`);
  });
  panels.forEach((panel, p) => {
    const y0 = top + p * (panelHeight + 40) + 20;
    const plotTop = y0 + 20;
    const plotHeight = panelHeight - 50;
    const max = Math.max(...panel.groups.flatMap((g) => g.values.filter(Number.isFinite)), 1e-9);
    parts.push(`<text x="10" y="${y0 + 10}" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`);
    parts.push(`<line x1="40" y1="${plotTop + plotHeight}" x2="${width - 10}" y2="${plotTop + plotHeight}" stroke="#999"/>`);
    const groupWidth = (width - 60) / panel.groups.length;
    const barWidth = Math.min(40, (groupWidth - 20) / series.length);
    panel.groups.forEach((group, g) => {
      const gx = 50 + g * groupWidth;
      group.values.forEach((value, s) => {
        if (!Number.isFinite(value)) return;
        const h = (value / max) * plotHeight;
        const x = gx + s * barWidth;
        const y = plotTop + plotHeight - h;
        parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s % COLORS.length]}"/>`);
        parts.push(`<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="10">${formatValue(value)}</text>`);
      });
      parts.push(`<text x="${(gx + (barWidth * series.length) / 2).toFixed(1)}" y="${plotTop + plotHeight + 15}" text-anchor="middle">${escape(group.label)}</text>`);
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
