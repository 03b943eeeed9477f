// A horizontal bar chart as a standalone SVG string, for the benches' figures. No dependencies,
// no measuring of fonts, no randomness and no clock: the same data gives the same bytes, so a
// test can re-render a committed chart from its JSON and compare (test/bench-charts.test.ts).
//
//   barChart({
//     title: 'Start → first answer',
//     subtitle: ['2026-11-28 00:10 UTC · 2 cores · Node v20.20.2', ...],   // lines under it
//     unit: 'ms',
//     sections: [{ title: 'without NODE_EXTRA_CA_CERTS', rows: [
//       { label: 'daemonkit', value: 102.4, min: 95.1, max: 130.2, highlight: true, note: '0 refused' },
//       { label: 'plain node', value: null, note: 'none' }, ...] }],     // no bar, the note
//     footnote: ['Bars: medians of 9 runs; whiskers: fastest to slowest run.'],
//     format: (v) => v.toFixed(1),                                          // optional
//   })
//
// or `rows` instead of `sections` for a single unnamed one. Every section shares one scale
// from 0, so bars compare across sections. A white card with dark text: legible on GitHub in
// light and dark mode alike.

const WIDTH = 760;
const PAD = 20;
const ROW = 24;
const BAR = 14;
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
const COLORS = {
  background: '#ffffff',
  border: '#d0d7de',
  text: '#1f2328',
  muted: '#59636e',
  grid: '#e6e9ec',
  axis: '#8c959f',
  bar: '#9aa6b2',
  highlight: '#0969da',
  whisker: '#24292f',
};

/** Text for XML: element content and attribute values alike. */
export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

/** A coordinate with at most one decimal, printed the same way on every machine. */
const n = (x) => {
  const r = Math.round(x * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
};

/** Width of a text in pixels, estimated (no font is measured): wide enough for sans-serif. */
export const textWidth = (text, size) => Math.ceil(String(text).length * size * 0.58);

/** The default format of a value: one decimal under 10, none above. */
export const formatValue = (v) => (Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0));

/** Ticks from 0: a step of 1, 2, 2.5 or 5 × 10^k giving at most `most` intervals up to max. */
export function ticks(max, most = 6) {
  if (!(max > 0)) return [0, 1];
  const raw = max / most;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw - 1e-12);
  const out = [];
  for (let i = 0; ; i++) {
    const t = Math.round(i * step * 1e6) / 1e6;
    out.push(t);
    if (t >= max - 1e-9) return out;
  }
}

const tick = (t) => (Number.isInteger(t) ? String(t) : String(Math.round(t * 1000) / 1000));

export function barChart(spec) {
  const { title, unit = '', subtitle = [], footnote = [] } = spec;
  const format = spec.format ?? formatValue;
  const sections = (spec.sections ?? [{ title: null, rows: spec.rows ?? [] }]).filter((s) => s.rows.length > 0);
  if (sections.length === 0) throw new Error(`barChart "${title}": no rows`);
  const rows = sections.flatMap((s) => s.rows);
  for (const r of rows) {
    for (const k of ['value', 'min', 'max']) {
      if (r[k] !== undefined && r[k] !== null && !(Number.isFinite(r[k]) && r[k] >= 0)) throw new Error(`barChart "${title}": ${r.label}: ${k} ${r[k]} is not a number >= 0`);
    }
  }
  const valueText = (r) => {
    if (r.value === null || r.value === undefined) return r.note ?? '—';
    const v = `${format(r.value)}${unit ? ` ${unit}` : ''}`;
    return r.note ? `${v} · ${r.note}` : v;
  };
  const labelW = Math.max(110, ...rows.map((r) => textWidth(r.label, 13) + (r.highlight ? 8 : 0))) + 12;
  const valueW = Math.max(...rows.map((r) => textWidth(valueText(r), 12))) + 14;
  const plotX = PAD + labelW;
  const plotW = WIDTH - PAD - labelW - valueW - PAD;
  const top = Math.max(...rows.map((r) => Math.max(r.value ?? 0, r.max ?? 0)));
  const axis = ticks(top);
  const scaleMax = axis.at(-1);
  const x = (v) => plotX + (v / scaleMax) * plotW;

  const out = [];
  let y = PAD + 16;
  out.push(`<text x="${PAD}" y="${y}" font-size="16" font-weight="600" fill="${COLORS.text}">${escapeXml(title)}</text>`);
  for (const line of subtitle) {
    y += 17;
    out.push(`<text x="${PAD}" y="${y}" font-size="11.5" fill="${COLORS.muted}">${escapeXml(line)}</text>`);
  }
  y += 14;
  const grid = [];
  const body = [];
  for (const s of sections) {
    if (s.title) {
      y += 20;
      body.push(`<text x="${PAD}" y="${y}" font-size="12.5" font-weight="600" fill="${COLORS.muted}">${escapeXml(s.title)}</text>`);
      y += 6;
    }
    // The grid behind each section's rows only, so that no line crosses a section's title.
    const [from, to] = [y, y + s.rows.length * ROW + 4];
    for (const t of axis) grid.push(`<line x1="${n(x(t))}" y1="${from}" x2="${n(x(t))}" y2="${to}" stroke="${t === 0 ? COLORS.axis : COLORS.grid}" stroke-width="1"/>`);
    for (const r of s.rows) {
      const mid = y + ROW / 2;
      const weight = r.highlight ? ' font-weight="700"' : '';
      body.push(`<text x="${plotX - 10}" y="${n(mid + 4.5)}" font-size="13" text-anchor="end" fill="${COLORS.text}"${weight}>${escapeXml(r.label)}</text>`);
      let end = plotX;
      if (r.value !== null && r.value !== undefined) {
        const w = Math.max(x(r.value) - plotX, r.value > 0 ? 1 : 0);
        body.push(`<rect x="${n(plotX)}" y="${n(mid - BAR / 2)}" width="${n(w)}" height="${BAR}" rx="2" fill="${r.highlight ? COLORS.highlight : COLORS.bar}"/>`);
        end = plotX + w;
      }
      if (typeof r.min === 'number' && typeof r.max === 'number' && r.max > r.min) {
        const [a, b] = [x(r.min), x(r.max)];
        body.push(
          `<path d="M${n(a)} ${n(mid)}H${n(b)}M${n(a)} ${n(mid - 4)}V${n(mid + 4)}M${n(b)} ${n(mid - 4)}V${n(mid + 4)}" stroke="${COLORS.whisker}" stroke-width="1.2" fill="none"/>`,
        );
        end = Math.max(end, b);
      }
      body.push(`<text x="${n(end + 6)}" y="${n(mid + 4)}" font-size="12" fill="${COLORS.text}"${weight}>${escapeXml(valueText(r))}</text>`);
      y += ROW;
    }
  }
  out.push(...grid, ...body);
  y += 4 + 15;
  for (const t of axis) out.push(`<text x="${n(x(t))}" y="${y}" font-size="11" text-anchor="middle" fill="${COLORS.muted}">${tick(t)}</text>`);
  if (unit) out.push(`<text x="${n(x(scaleMax) + textWidth(tick(scaleMax), 11) / 2 + 5)}" y="${y}" font-size="11" fill="${COLORS.muted}">${escapeXml(unit)}</text>`);
  for (const line of footnote) {
    y += 17;
    out.push(`<text x="${PAD}" y="${y}" font-size="11" fill="${COLORS.muted}">${escapeXml(line)}</text>`);
  }
  const height = y + PAD;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="${FONT}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0.5" y="0.5" width="${WIDTH - 1}" height="${height - 1}" rx="6" fill="${COLORS.background}" stroke="${COLORS.border}"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
