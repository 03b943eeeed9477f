// The daemonkit command as it stands: --version, --help, and a clear refusal otherwise.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { root } from './helpers';

const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { encoding: 'utf8' });

it('prints the version', () => {
  const r = cli('--version');
  expect([r.status, r.stdout]).toEqual([0, `${require('../package.json').version}\n`]);
});

it('prints usage with --help and exits 0', () => {
  const r = cli('--help');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Usage: daemonkit/);
});

it('names an unknown command in one line and exits 2', () => {
  const r = cli('frobnicate');
  expect(r.status).toBe(2);
  expect(r.stderr).toBe("daemonkit: unknown command 'frobnicate' (not implemented yet); see daemonkit --help\n");
});

it('names an unknown option and exits 2', () => {
  const r = cli('--frob');
  expect(r.status).toBe(2);
  expect(r.stderr.split('\n')[0]).toMatch(/^daemonkit: Unknown option '--frob'/);
});
