// The README's daemonkit session runs as printed: each `$` line through sh, in the
// repository (examples/hello.py is there), with `daemonkit` on PATH and the run and log
// directories in a temporary directory. What it prints must be what the README shows, but
// for pids (mapped in order of appearance), sizes, uptimes, the port (a free one for 8080)
// and the log directory.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort, root, useProcessControl, useTmpDir } from './helpers';
import { cliPath } from './cli-run';

const pc = useProcessControl();
const tmp = useTmpDir();

/** `$ command` lines, each with the lines it prints. */
function session(): { command: string; output: string[] }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /A session, as printed[\s\S]*?```console\n([\s\S]*?)```/.exec(readme)![1];
  const steps: { command: string; output: string[] }[] = [];
  for (const line of block.trimEnd().split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: [] });
    else steps.at(-1)!.output.push(line);
  }
  return steps;
}

/** What may differ between runs: sizes and times; pids map to the README's in order. */
function normal(lines: string[], pids: Map<string, string>): string {
  return lines
    .join('\n')
    .replace(/pid (\d+)/g, (_, pid) => `pid ${pids.get(pid) ?? pid}`)
    .replace(/^(web +running +)(\d+)/gm, (_, head, pid) => `${head}${pids.get(pid) ?? pid}`)
    .replace(/up \d+ s/g, 'up N s')
    .replace(/RSS [\d.]+ MiB/g, 'RSS N MiB')
    .replace(/ \d+s +[\d.]+M /g, ' Ns NM ')
    .replace(/ +/g, ' ');
}

it('the README\'s daemonkit session, as printed', () => {
  const bin = join(tmp(), 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'daemonkit'), `#!/bin/sh\nexec "${process.execPath}" -- "${cliPath}" "$@"\n`);
  chmodSync(join(bin, 'daemonkit'), 0o755);
  const logDir = join(tmp(), 'log');
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, DAEMONKIT_RUN_DIR: join(tmp(), 'run'), DAEMONKIT_LOG_DIR: logDir };
  const port = String(freePort());
  const actualPids: string[] = [];
  const readmePids: string[] = [];
  for (const { command, output } of session()) {
    const r = spawnSync('sh', ['-c', command.replaceAll('8080', port)], { cwd: root, env, encoding: 'utf8' });
    const printed = `${r.stdout}${r.stderr}`.trimEnd().split('\n').map((l) => l.replaceAll(logDir, '/var/log/daemonkit').replaceAll(port, '8080'));
    for (const m of printed.join('\n').matchAll(/pid (\d+)/g)) if (!actualPids.includes(m[1])) actualPids.push(m[1]);
    for (const m of output.join('\n').matchAll(/pid (\d+)/g)) if (!readmePids.includes(m[1])) readmePids.push(m[1]);
    for (const pid of actualPids) pc.track(Number(pid));
    const pids = new Map(actualPids.map((pid, i) => [pid, readmePids[i] ?? pid]));
    expect({ command, printed: normal(printed, pids) }).toEqual({ command, printed: normal(output, new Map()) });
  }
  expect(readmePids.length).toBeGreaterThan(1);
});
