// The charts in bench/results/ are the benches' own output: each one re-rendered here from the
// committed JSON by the benches' code (bench/results.mjs) must be the committed file byte for
// byte, so a chart edited by hand, or left behind by a newer JSON, fails. The numbers printed in
// the charts are checked against medians computed here from the JSON's raw runs, and
// BENCHMARKS.md against the JSON it quotes. No benchmark runs: reading and rendering only.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, ticks } from '../bench/chart.mjs';
import { chartsFor } from '../bench/results.mjs';

const root = join(__dirname, '..');
const results = join(root, 'bench', 'results');
const read = (name: string) => readFileSync(join(results, name), 'utf8');
const json = (name: string) => JSON.parse(read(name));
const files = readdirSync(results).sort();
const jsons = files.filter((f) => f.endsWith('.json'));
const svgs = files.filter((f) => f.endsWith('.svg'));

/** The median as the benches compute it, written again here. */
function median(xs: unknown[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** The text elements of an SVG, in document order, unescaped. */
function texts(svg: string): string[] {
  const un = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e as string]!);
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => un(m[1]));
}

/** The value printed for a row: the text after the row's label, within the section. */
function printed(svg: string, section: string, label: string): string {
  const t = texts(svg);
  const from = t.indexOf(section);
  expect(from, `section "${section}"`).toBeGreaterThanOrEqual(0);
  const at = t.indexOf(label, from + 1);
  expect(at, `row "${label}" in "${section}"`).toBeGreaterThan(from);
  return t[at + 1];
}

const ms = (x: number) => `${x < 10 ? x.toFixed(1) : x.toFixed(0)} ms`;
const mib = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
const certsTitle = (certs: boolean) => (certs ? 'with NODE_EXTRA_CA_CERTS' : 'without NODE_EXTRA_CA_CERTS');
const label = (name: string) => (name === 'pm2' ? 'pm2 (daemon running)' : name);

describe('bench/results/', () => {
  it('holds the JSON of the three benches and the four charts of the peers', () => {
    expect(jsons).toEqual(expect.arrayContaining(['peers.json', 'restarts.json', 'status.json']));
    expect(svgs).toEqual(expect.arrayContaining(['start.svg', 'crash.svg', 'stop.svg', 'memory.svg']));
  });

  it.each(jsons)('%s says when, on what, and by which command', (name) => {
    const r = json(name);
    expect(r.benchmark).toBe(name.replace(/\.json$/, ''));
    expect(r.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(r.command).toMatch(new RegExp(`^node bench/${r.benchmark}\\.mjs( |$)`));
    expect(r.node).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.machine.cpuModel).toEqual(expect.any(String));
    expect(r.machine.loadavgStart).toHaveLength(3);
    expect(r.machine.loadavgEnd).toHaveLength(3);
    expect(typeof r.certificates.set).toBe('boolean');
  });

  it.each(jsons)('every chart of %s is the committed file, byte for byte', (name) => {
    const charts = chartsFor(json(name));
    expect(Object.keys(charts).length).toBeGreaterThan(0);
    for (const [svg, text] of Object.entries(charts)) {
      expect(existsSync(join(results, svg)), `${svg} is committed (node bench/${name.replace('.json', '.mjs')} --charts-from bench/results/${name})`).toBe(true);
      expect(read(svg), `${svg} re-rendered from ${name}`).toBe(text);
    }
  });

  it('holds no chart that no JSON draws', () => {
    const drawn = jsons.flatMap((name) => Object.keys(chartsFor(json(name))));
    expect(svgs.filter((f) => !drawn.includes(f))).toEqual([]);
  });

  it('a different JSON draws a different chart', () => {
    const r = json('peers.json');
    const before = chartsFor(r)['start.svg'];
    r.suites[0].tools.daemonkit.median.startAnswerMs += 1;
    expect(chartsFor(r)['start.svg']).not.toBe(before);
  });
});

describe('the numbers in the charts are the JSON', () => {
  const peers = json('peers.json');
  const plain = peers.suites.find((s: any) => !s.certs);

  it('start.svg and stop.svg: every tool median, in each suite', () => {
    const start = read('start.svg');
    const stop = read('stop.svg');
    expect(peers.suites.length).toBeGreaterThanOrEqual(1);
    for (const s of peers.suites) {
      const tools = Object.entries<any>(s.tools).filter(([, e]) => !e.skipped);
      expect(tools.map(([n]) => n)).toContain('daemonkit');
      for (const [name, e] of tools) {
        const m = median(e.runs.map((r: any) => r.start?.answerMs));
        expect(m).not.toBeNull();
        expect(printed(start, certsTitle(s.certs), label(name))).toBe(ms(m!));
        const closed = median(e.runs.map((r: any) => r.stop?.closedMs));
        if (!e.startOnly && closed !== null) expect(printed(stop, certsTitle(s.certs), label(name))).toBe(ms(closed));
      }
    }
  });

  it('crash.svg: the kills of every supervising tool, with the refusals', () => {
    const crash = read('crash.svg');
    const supervising = Object.entries<any>(plain.tools).filter(([, e]) => !e.skipped && e.supervises && !e.startOnly);
    expect(supervising.map(([n]) => n)).toContain('daemonkit supervised');
    const sections = ['killed right after the start (without NODE_EXTRA_CA_CERTS)', `killed after ≥ ${(peers.uptimeMs / 1000).toFixed(1)} s up`];
    for (const [name, e] of supervising) {
      for (const [k, section] of [['killFresh', sections[0]], ['killUp', sections[1]]]) {
        const m = median(e.runs.map((r: any) => r[k]?.ms));
        const refused = median(e.runs.map((r: any) => r[k]?.refusals));
        expect(printed(crash, section, label(name))).toBe(`${ms(m!)} · ${refused} refused`);
      }
    }
  });

  it("memory.svg: the program's and the tool's own RssAnon", () => {
    const memory = read('memory.svg');
    for (const [name, e] of Object.entries<any>(plain.tools).filter(([, e]) => !e.skipped && !e.startOnly)) {
      const program = median(e.runs.map((r: any) => r.memory?.programKb));
      expect(printed(memory, 'the program (the same tiny server under every tool)', label(name))).toBe(mib(program!));
      const own = median(e.runs.map((r: any) => r.memory?.toolKb));
      const expected = own === null ? 'none: the program is the daemon' : mib(own);
      expect(printed(memory, "the tool's own long-lived processes", label(name))).toBe(expected);
    }
  });
});

describe('bench/chart.mjs', () => {
  const spec = {
    title: 'a <b> & "c"',
    unit: 'ms',
    rows: [
      { label: "x's", value: 12.34, min: 10, max: 20, highlight: true, note: '<0 refused>' },
      { label: 'y', value: 3.21 },
      { label: 'z', value: null, note: 'none' },
    ],
  };

  it('escapes every text for XML', () => {
    const svg = barChart(spec);
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('x&apos;s');
    expect(svg).not.toMatch(/<(?!\/?(svg|title|rect|text|line|path)\b)/);
    expect(texts(svg)).toEqual(expect.arrayContaining(['12 ms · <0 refused>', '3.2 ms', 'none']));
  });

  it('gives the same bytes for the same data', () => {
    expect(barChart(structuredClone(spec))).toBe(barChart(spec));
  });

  it('scales from 0 to a round number above the largest value or whisker', () => {
    expect(ticks(1053)).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
    expect(ticks(7.35)).toEqual([0, 2, 4, 6, 8]);
    expect(ticks(0.5)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  });

  it('refuses what it cannot draw', () => {
    expect(() => barChart({ title: 't', rows: [] })).toThrow(/no rows/);
    expect(() => barChart({ title: 't', rows: [{ label: 'a', value: Number.NaN }] })).toThrow(/not a number/);
  });
});

describe('BENCHMARKS.md', () => {
  const doc = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
  /** The text under a heading, up to the next heading. */
  const section = (heading: string) => {
    const from = doc.split('\n').findIndex((l) => /^#{2,3} /.test(l) && l.includes(heading));
    expect(from, heading).toBeGreaterThanOrEqual(0);
    const lines = doc.split('\n').slice(from + 1);
    const to = lines.findIndex((l) => /^#{1,3} /.test(l));
    return lines.slice(0, to === -1 ? undefined : to).join('\n');
  };
  /** The table row of a section that starts with `first`, e.g. '| **daemonkit** |'. */
  const row = (heading: string, first: string) => {
    const line = section(heading).split('\n').find((l) => l.startsWith(first));
    expect(line, `${heading}: ${first}`).toBeDefined();
    return line!;
  };
  const peers = json('peers.json');
  const tool = (certs: boolean, name: string) => peers.suites.find((s: any) => s.certs === certs)?.tools[name];
  const med = (certs: boolean, name: string, f: (r: any) => unknown) => median(tool(certs, name).runs.map(f))!;

  it('embeds the four charts of the peers', () => {
    for (const svg of ['start', 'crash', 'stop', 'memory']) expect(doc).toMatch(new RegExp(`!\\[[^\\]]+\\]\\(bench/results/${svg}\\.svg\\)`));
  });

  it('quotes the command and the time of each JSON it reports', () => {
    for (const name of jsons) {
      const r = json(name);
      expect(doc, name).toContain(`\`${r.command}\``);
      expect(doc, name).toContain(`${r.date.slice(0, 10)} ${r.date.slice(11, 16)} UTC`);
      expect(doc, name).toContain(`Node ${r.node}`);
    }
  });

  it("quotes daemonkit's medians of the peers JSON, with and without the certificates", () => {
    expect(peers.suites.map((s: any) => s.certs).sort()).toEqual([false, true]);
    for (const name of ['daemonkit', 'daemonkit supervised']) {
      const start = row('Start → first answer', `| **${name}** |`);
      const stop = row('Stop → port closed', `| **${name}** |`);
      for (const certs of [false, true]) {
        expect(start).toContain(ms(med(certs, name, (r) => r.start?.answerMs)));
        expect(stop).toContain(ms(med(certs, name, (r) => r.stop?.closedMs)));
      }
    }
    const crash = row('SIGKILL of the program', '| **daemonkit supervised** |');
    expect(crash).toContain(ms(med(false, 'daemonkit supervised', (r) => r.killFresh?.ms)));
    expect(crash).toContain(ms(med(false, 'daemonkit supervised', (r) => r.killUp?.ms)));
    expect(row('Private memory', '| **daemonkit supervised** |')).toContain(mib(med(false, 'daemonkit supervised', (r) => r.memory?.toolKb)));
  });

  it('quotes the restarts and status JSON', () => {
    const restarts = json('restarts.json');
    const end = restarts.samples.at(-1);
    const last = row('The supervisor under a crash loop', `| ${String(end.restarts).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} |`);
    expect(last).toContain(`${(end.vmRssKiB / 1024).toFixed(2)} MiB`);
    expect(last).toContain(`${(end.rssAnonKiB / 1024).toFixed(2)} MiB`);
    const status = json('status.json');
    const list = row('Status of 100 services', '| `daemonkit list` |');
    expect(list).toContain(ms(status.medianMs['daemonkit list|without']));
    expect(list).toContain(ms(status.medianMs['daemonkit list|with']));
  });
});
