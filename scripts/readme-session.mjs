// The sessions the README prints, run as printed. A ```console block is a session: each
// `$ command` line goes through sh, and what it prints must be the lines below it. The
// ```js blocks before it in the same section whose first line names a file (`// server.mjs`)
// are written into the session's directory first, so `$ node server.mjs` runs the example
// that is printed. Used by the tests (test/readme-cli.test.ts, against the checkout) and by
// the release check (scripts/release-check.mjs, against the installed tarball).
//
// What may differ between runs: pids (mapped to the printed ones in order of appearance),
// uptimes, sizes (both left out where there is no /proc), the port (8080 is a free one) and
// the paths under /tmp/ and of the log directory.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The sessions of a Markdown text, in order, each with its chapter (## heading) and section
 * (nearest heading), its steps and the files its section names before it.
 * @param {string} markdown
 * @returns {{ chapter: string, section: string, files: { name: string, code: string }[], steps: { command: string, output: string[] }[] }[]}
 */
export function sessionsOf(markdown) {
  const sessions = [];
  let chapter = '';
  let section = '';
  let files = [];
  for (const m of markdown.matchAll(/^(#{1,4}) (.*)$|^```(\w*)\n([\s\S]*?)^```$/gm)) {
    if (m[1] !== undefined) {
      if (m[1].length <= 2) chapter = m[2];
      section = m[2];
      files = [];
    } else if (m[3] === 'js') {
      const name = /^\/\/ ([\w.-]+\.m?js)\b/.exec(m[4]);
      if (name) files.push({ name: name[1], code: m[4] });
    } else if (m[3] === 'console') {
      const steps = [];
      for (const line of m[4].trimEnd().split('\n')) {
        if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: [] });
        else if (steps.length > 0) steps.at(-1).output.push(line);
        else throw new Error(`a session in "${section}" starts with a line that is not a command: ${line}`);
      }
      sessions.push({ chapter, section, files, steps });
    }
  }
  return sessions;
}

/**
 * Runs one session in `cwd`: writes its files, then each command through sh. Returns, per
 * step, the printed and the expected text, both normalized, and every pid it printed.
 * @param {{ files: { name: string, code: string }[], steps: { command: string, output: string[] }[] }} session
 * @param {{ cwd: string, env: NodeJS.ProcessEnv, port: number, tmp: string, logDir?: string, timeoutMs?: number }} where
 */
export function runSession(session, where) {
  const local = (text) => text.replaceAll('/tmp/', `${where.tmp}/`).replace(/\b8080\b/g, String(where.port));
  const printedBack = (text) => {
    const out = where.logDir ? text.replaceAll(where.logDir, '/var/log/daemonkit') : text;
    return out.replaceAll(`${where.tmp}/`, '/tmp/').replace(new RegExp(`\\b${where.port}\\b`, 'g'), '8080');
  };
  for (const file of session.files) writeFileSync(join(where.cwd, file.name), local(file.code));
  const actualPids = [];
  const printedPids = [];
  const steps = [];
  let status = 0;
  for (const { command, output } of session.steps) {
    // Each line is a shell of its own; `$?` is the status of the line before, as in one.
    const r = spawnSync('sh', ['-c', `(exit ${status}); ${local(command)}`], { cwd: where.cwd, env: where.env, encoding: 'utf8', timeout: where.timeoutMs ?? 60_000 });
    status = r.status ?? 128;
    const printed = printedBack(`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n(${r.error.message})` : ''}`).trimEnd();
    for (const m of printed.matchAll(/pid (\d+)/g)) if (!actualPids.includes(m[1])) actualPids.push(m[1]);
    for (const m of output.join('\n').matchAll(/pid (\d+)/g)) if (!printedPids.includes(m[1])) printedPids.push(m[1]);
    const pids = new Map(actualPids.map((pid, i) => [pid, printedPids[i] ?? pid]));
    steps.push({ command, printed: normal(printed, pids), expected: normal(output.join('\n'), new Map()) });
  }
  return { steps, pids: actualPids.map(Number) };
}

/** What may differ between two runs of the same session, made the same. */
function normal(text, pids) {
  // Uptime and memory come from /proc: `status` leaves them out where there is none.
  const shown = process.platform === 'linux' ? text : text.replace(/up \d+ s, |RSS [\d.]+ MiB, /g, '');
  return shown
    .replace(/pid (\d+)/g, (_, pid) => `pid ${pids.get(pid) ?? pid}`)
    .replace(/^(\S+ +running +)(\d+)/gm, (_, head, pid) => `${head}${pids.get(pid) ?? pid}`)
    .replace(/up \d+ s/g, 'up N s')
    .replace(/RSS [\d.]+ MiB/g, 'RSS N MiB')
    .replace(/ \d+s +[\d.]+M /g, ' Ns NM ')
    .replace(/ +/g, ' ');
}
