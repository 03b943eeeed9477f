// What the benches write to bench/results/: the header every JSON starts with (date, machine,
// Node, the exact command), and the charts, drawn from the JSON alone with bench/chart.mjs.
// peers.mjs, restarts.mjs and status.mjs call writeCharts() after a run, and again from a saved
// JSON with --charts-from; test/bench-charts.test.ts re-renders every committed chart from the
// committed JSON and requires the same bytes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChart } from './chart.mjs';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const resultsDir = join(root, 'bench', 'results');

/** One argument as a POSIX shell reads it back. */
export function shellQuote(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** This process's command line, the script relative to the repository root, where it is run. */
export function commandLine(argv = process.argv, execArgv = process.execArgv) {
  const script = relative(root, argv[1]);
  return ['node', ...execArgv, script.startsWith('..') ? argv[1] : script, ...argv.slice(2)].map(shellQuote).join(' ');
}

const loads = () => loadavg().map((l) => Math.round(l * 100) / 100);

/**
 * The header of every bench's JSON: what ran, when (UTC), on what. `certificates` says whether
 * NODE_EXTRA_CA_CERTS was set for this process (each bench says which of its runs kept it).
 */
export function runInfo(benchmark) {
  const cpu = cpus();
  return {
    benchmark,
    date: new Date().toISOString(),
    command: commandLine(),
    node: process.version,
    machine: {
      cores: cpu.length,
      cpuModel: cpu[0]?.model.trim() || 'unknown',
      loadavgStart: loads(),
      loadavgEnd: null,
    },
    certificates: process.env.NODE_EXTRA_CA_CERTS ? { set: true, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : { set: false },
  };
}

/** To call at the end of a run. */
export function endInfo(report) {
  report.machine.loadavgEnd = loads();
}

// ---------------------------------------------------------------------------------------------
// Charts.

const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
const spread = (values) => {
  const v = values.filter(isNum);
  return v.length ? { min: Math.min(...v), max: Math.max(...v) } : {};
};
const thousands = (x) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const mib = (kb) => (isNum(kb) ? kb / 1024 : null);
const oneDecimal = (v) => v.toFixed(1);

/** "2026-11-28 00:10 UTC · 2 cores (AMD EPYC) · Node v20.20.2 · load 1.16 at the start" */
export function machineLine(report) {
  const date = `${report.date.slice(0, 10)} ${report.date.slice(11, 16)} UTC`;
  const m = report.machine;
  return `${date} · ${m.cores} cores (${m.cpuModel}) · Node ${report.node} · load average ${m.loadavgStart[0].toFixed(2)} at the start`;
}

const LABELS = { pm2: 'pm2 (daemon running)' };
const label = (name) => LABELS[name] ?? name;
const isOurs = (name) => name.startsWith('daemonkit');
const certsTitle = (certs) => (certs ? 'with NODE_EXTRA_CA_CERTS' : 'without NODE_EXTRA_CA_CERTS');
const measured = (suite) => Object.entries(suite.tools).filter(([, e]) => !e.skipped);

/** start.svg, crash.svg, stop.svg and memory.svg from bench/peers.mjs's JSON. */
export function peersCharts(report) {
  const plain = report.suites.find((s) => !s.certs);
  const how = `${report.runs} runs per tool, interleaved · bars: medians · whiskers: fastest to slowest run`;
  const subtitle = [machineLine(report), how];
  const source = 'Drawn by bench/peers.mjs from its JSON (bench/results/peers.json). daemonkit in blue.';
  const charts = {};

  charts['start.svg'] = barChart({
    title: 'Start → first answer',
    subtitle,
    unit: 'ms',
    sections: report.suites.map((s) => ({
      title: certsTitle(s.certs),
      rows: measured(s).map(([name, e]) => ({
        label: label(name),
        value: e.median.startAnswerMs,
        ...spread(e.runs.map((r) => r.start?.answerMs)),
        highlight: isOurs(name),
      })),
    })),
    footnote: [
      'From launching the start command until the same tiny HTTP server answers a GET.',
      "daemonkit's start returns once the program is ready; pm2's, forever's, start-stop-daemon's and",
      "sv up's return before the port answers. pm2's daemon is already running.",
      source,
    ],
  });

  const killRows = (k) =>
    plain
      ? measured(plain)
          .filter(([, e]) => e.median[k])
          .map(([name, e]) => ({
            label: label(name),
            value: e.median[k].ms,
            ...spread(e.runs.map((r) => r[k]?.ms)),
            note: `${e.median[k].refusals} refused`,
            highlight: isOurs(name),
          }))
      : [];
  const up = `${(report.uptimeMs / 1000).toFixed(1)} s`;
  charts['crash.svg'] = barChart({
    title: 'SIGKILL of the program → answering again',
    subtitle,
    unit: 'ms',
    sections: [
      { title: 'killed right after the start (without NODE_EXTRA_CA_CERTS)', rows: killRows('killFresh') },
      { title: `killed after ≥ ${up} up`, rows: killRows('killUp') },
    ],
    footnote: [
      'daemonkit with --restart-delay 0, the peers as bench/peers.mjs sets them up. "refused": median count',
      'of connections refused meanwhile, a client retrying every millisecond. daemonkit supervised holds',
      'the listening socket across restarts: connections wait for the next run instead of being refused.',
      source,
    ],
  });

  charts['stop.svg'] = barChart({
    title: 'Stop → port closed',
    subtitle,
    unit: 'ms',
    sections: report.suites
      .filter((s) => s.phases.stop)
      .map((s) => ({
        title: certsTitle(s.certs),
        rows: measured(s)
          .filter(([, e]) => !e.startOnly)
          .map(([name, e]) => ({ label: label(name), value: e.median.stopClosedMs, ...spread(e.runs.map((r) => r.stop?.closedMs)), highlight: isOurs(name) })),
      })),
    footnote: ['From launching the stop command until connect() to the port is refused.', source],
  });

  const memRows = (pick, none) =>
    plain && plain.phases.memory
      ? measured(plain)
          .filter(([, e]) => !e.startOnly)
          .map(([name, e]) => {
            const value = mib(pick(e.median));
            return value === null
              ? { label: label(name), value: null, note: none, highlight: isOurs(name) }
              : { label: label(name), value, ...spread(e.runs.map((r) => mib(r.memory ? pick(r.memory) : null))), highlight: isOurs(name) };
          })
      : [];
  charts['memory.svg'] = barChart({
    title: 'Private memory (RssAnon)',
    subtitle: [machineLine(report), `${report.runs} runs per tool, measured after ≥ ${up} up · bars: medians · whiskers: fastest to slowest run`],
    unit: 'MiB',
    format: oneDecimal,
    sections: [
      { title: "the tool's own long-lived processes", rows: memRows((m) => m.toolKb, 'none: the program is the daemon') },
      { title: 'the program (the same tiny server under every tool)', rows: memRows((m) => m.programKb, 'not measured') },
    ],
    footnote: [
      "RssAnon from /proc/PID/status, kB / 1024. daemonkit supervised's own process is its supervisor;",
      "pm2's is its God daemon, forever's its monitor.",
      source,
    ],
  });
  return charts;
}

/** restarts.svg from bench/restarts.mjs's JSON: the supervisor's memory along the restarts. */
export function restartsCharts(report) {
  const rows = (key) =>
    report.samples.map((s) => ({ label: `after ${thousands(s.restarts)} restarts`, value: s[key] / 1024, note: `${s.fdCount} descriptors` }));
  return {
    'restarts.svg': barChart({
      title: `The supervisor under a crash loop: ${thousands(report.target)} restarts`,
      subtitle: [machineLine(report), `daemonkit start --restart always --restart-delay 0 --ready exec -- ${report.program}; one sample per row`],
      unit: 'MiB',
      format: (v) => v.toFixed(2),
      sections: [
        { title: 'RssAnon (private memory)', rows: rows('rssAnonKiB') },
        { title: 'VmRSS', rows: rows('vmRssKiB') },
      ],
      footnote: [
        `About ${Math.round(report.restartsPerSecond)} restarts a second. Descriptors: the fewest of 50 reads over 0.1 s.`,
        'Drawn by bench/restarts.mjs from its JSON (bench/results/restarts.json).',
      ],
    }),
  };
}

/** status.svg from bench/status.mjs's JSON: the commands' times with 100 services. */
export function statusCharts(report) {
  const variants = ['node -e 0', 'daemonkit list', 'daemonkit list --json', 'daemonkit status --name s50'];
  const envs = report.certs ? ['without', 'with'] : ['without'];
  return {
    'status.svg': barChart({
      title: `Status of ${report.services} services`,
      subtitle: [machineLine(report), `${report.runs} runs each, interleaved · bars: medians · whiskers: fastest to slowest run`],
      unit: 'ms',
      sections: envs.map((e) => ({
        title: certsTitle(e === 'with'),
        rows: variants.map((v) => ({ label: v, value: report.medianMs[`${v}|${e}`], ...spread(report.times[`${v}|${e}`]), highlight: isOurs(v) })),
      })),
      footnote: [
        'The whole command as a user runs it, Node\'s start included (node -e 0 is that start alone).',
        'Drawn by bench/status.mjs from its JSON (bench/results/status.json).',
      ],
    }),
  };
}

/** Every chart of a bench's JSON, by file name. */
export function chartsFor(report) {
  switch (report.benchmark) {
    case 'peers':
      return peersCharts(report);
    case 'restarts':
      return restartsCharts(report);
    case 'status':
      return statusCharts(report);
    default:
      throw new Error(`no charts for a JSON whose benchmark is ${JSON.stringify(report.benchmark)}`);
  }
}

/** Writes the JSON's charts into dir; returns their paths. */
export function writeCharts(report, dir) {
  mkdirSync(dir, { recursive: true });
  return Object.entries(chartsFor(report)).map(([name, svg]) => {
    const file = join(dir, name);
    writeFileSync(file, svg);
    return file;
  });
}

/** Writes the JSON (and makes its directory). */
export function writeJson(report, file) {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * Where a bench writes (--out DIR, default bench/results; --json FILE, default DIR/NAME.json).
 * With --charts-from FILE it redraws that JSON's charts (into its directory, or --out) and
 * exits: no run.
 */
export function outputOf(values, name) {
  if (values['charts-from'] !== undefined) {
    const saved = JSON.parse(readFileSync(values['charts-from'], 'utf8'));
    console.log(`charts: ${writeCharts(saved, resolve(values.out ?? dirname(resolve(values['charts-from'])))).join(', ')}`);
    process.exit(0);
  }
  const out = resolve(values.out ?? resultsDir);
  return { out, jsonFile: values.json !== undefined ? resolve(values.json) : join(out, `${name}.json`) };
}
