// Resource limits, checked against /proc/PID/limits and with real privilege.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getrlimit, rlimitNames, setrlimit, type Rlimit } from '../src/index';
import { fixture, fixtureAsNobody, isRoot } from './helpers';

function procLimit(label: string): [string, string] {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(label))!;
  const [soft, hard] = line.slice(label.length).trim().split(/\s+/);
  return [soft, hard];
}

const shown = (v: number) => (v === Infinity ? 'unlimited' : String(v));

describe('rlimits', () => {
  const saved: Record<string, Rlimit> = {};
  beforeEach(() => {
    saved.nofile = getrlimit('nofile');
    saved.core = getrlimit('core');
  });
  afterEach(() => {
    setrlimit('nofile', saved.nofile);
    setrlimit('core', saved.core);
  });

  it('names every resource this platform has, in lower case', () => {
    for (const name of ['as', 'core', 'cpu', 'data', 'fsize', 'memlock', 'nofile', 'nproc', 'stack']) {
      expect(rlimitNames).toContain(name);
    }
    for (const name of rlimitNames) expect(name).toMatch(/^[a-z]+$/);
  });

  it('round-trips nofile, as /proc/self/limits shows', () => {
    const { hard } = getrlimit('nofile');
    const soft = Math.min(hard, 1000);
    setrlimit('nofile', { soft });
    expect(getrlimit('nofile')).toEqual({ soft, hard });
    expect(procLimit('Max open files')).toEqual([String(soft), shown(hard)]);
  });

  it('round-trips core, with Infinity for unlimited', () => {
    setrlimit('core', { soft: 0 });
    expect(getrlimit('core').soft).toBe(0);
    expect(procLimit('Max core file size')[0]).toBe('0');
    const { hard } = getrlimit('core');
    setrlimit('core', { soft: hard });
    expect(getrlimit('core').soft).toBe(hard);
    expect(procLimit('Max core file size')[0]).toBe(shown(hard));
  });

  it('rejects an unknown resource name, listing the known ones', () => {
    expect(() => getrlimit('files')).toThrow(/'name' is not a resource limit on linux; use one of .*nofile/);
    expect(() => setrlimit('files', 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it("rejects names inherited from Object.prototype ('constructor', 'toString', '__proto__'), which name no limit", () => {
    // Read here (harmless); set in a child, so that a library which takes 'constructor' for
    // resource 0 lowers RLIMIT_CPU of that child, not of this worker.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(() => getrlimit(name), name).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      const out = execFileSync(process.execPath, [fixture('try.js'), JSON.stringify(['setrlimit', name, { soft: 100 }])], { encoding: 'utf8' });
      expect(JSON.parse(out), name).toMatchObject({ error: { code: 'ERR_INVALID_ARG_VALUE' } });
    }
  });

  it('rejects a soft limit above the hard limit before calling the kernel', () => {
    const { hard } = getrlimit('nofile');
    expect(() => setrlimit('nofile', { soft: hard + 1, hard })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('limit.soft') }),
    );
    expect(() => setrlimit('nofile', -1)).toThrow(/"limit"/);
  });

  it('refuses to raise a hard limit in a process without privilege (EPERM)', () => {
    // In a child whose hard limit the shell lowered first; as root the child also drops to
    // nobody, since root may raise hard limits (CAP_SYS_RESOURCE).
    const out = execFileSync(
      'sh',
      ['-c', 'ulimit -H -c 1024 && exec "$0" "$@"', process.execPath, isRoot ? fixtureAsNobody('try.js') : fixture('try.js'), JSON.stringify(['setrlimit', 'core', { hard: 1e9 }])],
      { encoding: 'utf8', ...(isRoot ? { uid: 65534, gid: 65534 } : {}) },
    );
    expect(JSON.parse(out)).toEqual({
      error: { code: 'EPERM', syscall: 'setrlimit', message: "EPERM: operation not permitted, setrlimit 'core'" },
    });
  });
});
