/**
 * A tiny dependency-free SVG line chart (axes, ticks, legend, optional log-x) and a CSV writer:
 * enough for the simulator's charts to be committed and rendered on GitHub.
 */

/** One line of a chart. `y` may hold NaN for missing points (the line breaks there). */
export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  /** Dashed stroke (e.g. for analytic curves next to simulated ones). */
  dashed?: boolean;
  /** Draw markers at the points. */
  markers?: boolean;
}

/** Chart options. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  logX?: boolean;
  logY?: boolean;
  yMin?: number;
  yMax?: number;
  /** Horizontal reference lines, e.g. the ~1,000 req/s soft limit of one Durable Object. */
  hLines?: readonly { y: number; label: string }[];
  width?: number;
  height?: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/**
 * Renders a line chart as an SVG document.
 * @example
 * writeFileSync("a.svg", lineChart({ title: "t", xLabel: "x", yLabel: "y",
 *   series: [{ name: "s", x: [1, 2], y: [3, 4] }] }));
 */
export function lineChart(spec: ChartSpec): string {
  // The legend sits right of the plot; size its column to the longest name (~6.6 px per character
  // at 12 px sans-serif) so long names are not clipped by the SVG's edge.
  const longest = Math.max(0, ...spec.series.map((s) => s.name.length));
  const m = { l: 70, r: Math.max(190, 56 + Math.ceil(longest * 6.6)), t: 40, b: 55 };
  const W = spec.width ?? 570 + m.r, H = spec.height ?? 420;
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const tx = (v: number) => (spec.logX ? Math.log10(v) : v);
  const ty = (v: number) => (spec.logY ? Math.log10(v) : v);
  const xs: number[] = [], ys: number[] = [];
  for (const s of spec.series) s.x.forEach((x, i) => {
    const y = s.y[i];
    if (Number.isFinite(x) && y !== undefined && Number.isFinite(y)) { xs.push(tx(x)); ys.push(ty(y)); }
  });
  for (const h of spec.hLines ?? []) ys.push(ty(h.y));
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = spec.yMin !== undefined ? ty(spec.yMin) : Math.min(0, ...ys), y1 = spec.yMax !== undefined ? ty(spec.yMax) : Math.max(...ys);
  if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  if (!(y1 > y0)) { y1 = y0 + 1; }
  if (spec.yMax === undefined && !spec.logY) y1 += (y1 - y0) * 0.05;
  const px = (v: number) => m.l + ((tx(v) - x0) / (x1 - x0)) * pw;
  const py = (v: number) => m.t + ph - ((ty(v) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  // Grid and ticks.
  for (const v of ticks(x0, x1, !!spec.logX)) {
    const X = m.l + ((v - x0) / (x1 - x0)) * pw;
    out.push(`<line x1="${f(X)}" y1="${m.t}" x2="${f(X)}" y2="${m.t + ph}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${f(X)}" y="${m.t + ph + 16}" text-anchor="middle">${fmt(spec.logX ? 10 ** v : v)}</text>`);
  }
  for (const v of ticks(y0, y1, !!spec.logY)) {
    const Y = m.t + ph - ((v - y0) / (y1 - y0)) * ph;
    out.push(`<line x1="${m.l}" y1="${f(Y)}" x2="${m.l + pw}" y2="${f(Y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${f(Y + 4)}" text-anchor="end">${fmt(spec.logY ? 10 ** v : v)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  for (const h of spec.hLines ?? []) {
    const Y = f(py(h.y));
    out.push(`<line x1="${m.l}" y1="${Y}" x2="${m.l + pw}" y2="${Y}" stroke="#555" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${m.l + 4}" y="${Number(Y) - 4}" fill="#555">${esc(h.label)}</text>`);
  }
  spec.series.forEach((s, k) => {
    const c = COLORS[k % COLORS.length] as string;
    const segs: string[][] = [[]];
    s.x.forEach((x, i) => {
      const y = s.y[i];
      const ok = y !== undefined && Number.isFinite(y) && Number.isFinite(x) && (!spec.logY || y > 0) && (!spec.logX || x > 0);
      if (ok) (segs[segs.length - 1] as string[]).push(`${f(px(x))},${f(py(y))}`);
      else if ((segs[segs.length - 1] as string[]).length) segs.push([]);
    });
    for (const seg of segs) if (seg.length)
      out.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""} points="${seg.join(" ")}"/>`);
    if (s.markers) for (const seg of segs) for (const p of seg) {
      const [a, b] = p.split(",");
      out.push(`<circle cx="${a}" cy="${b}" r="3" fill="${c}"/>`);
    }
    const ly = m.t + 10 + k * 18;
    out.push(`<line x1="${m.l + pw + 12}" y1="${ly}" x2="${m.l + pw + 36}" y2="${ly}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    out.push(`<text x="${m.l + pw + 40}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Rows to CSV (RFC 4180 quoting where needed; numbers with up to 6 significant digits). */
export function toCsv(header: readonly string[], rows: readonly (readonly (number | string)[])[]): string {
  const cell = (v: number | string) =>
    typeof v === "number" ? (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : "") : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\n") + "\n";
}

function ticks(a: number, b: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let v = Math.ceil(a); v <= Math.floor(b) + 1e-9; v++) out.push(v);
    return out.length >= 2 ? out : [a, b];
  }
  const span = b - a;
  const step0 = 10 ** Math.floor(Math.log10(span / 5));
  const step = [1, 2, 5, 10].map((k) => k * step0).find((s) => span / s <= 7) ?? step0 * 10;
  const out: number[] = [];
  for (let v = Math.ceil(a / step) * step; v <= b + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}
const f = (v: number) => v.toFixed(1);
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
