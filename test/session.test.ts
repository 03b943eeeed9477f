// Sessions, process groups and prctl settings, each in a process of its own.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { getpgid, getsid, isChildSubreaper, setChildSubreaper } from '../src/index';
import { fixture, procStat } from './helpers';

/** Runs one library call in a fresh Node process (see fixtures/try.js). */
function inChild(call: unknown[]) {
  const out = execFileSync(process.execPath, [fixture('try.js'), JSON.stringify(call)], { encoding: 'utf8' });
  return JSON.parse(out);
}

describe('session', () => {
  it('reads our session and process group as /proc shows them', () => {
    const stat = procStat(process.pid);
    expect(getsid()).toBe(stat.session);
    expect(getpgid()).toBe(stat.pgrp);
    expect(getsid(process.ppid)).toBe(procStat(process.ppid).session);
  });

  it('makes a process a session leader with setsid', () => {
    // A child started by execFileSync is not a group leader, so setsid succeeds and returns
    // its pid as the new session id.
    const script = `const d = require(${JSON.stringify(require.resolve('../dist'))});
      const sid = d.setsid(); process.stdout.write(JSON.stringify({ sid, pid: process.pid, getsid: d.getsid() }))`;
    const { sid, pid, getsid: after } = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    expect(sid).toBe(pid);
    expect(after).toBe(pid);
  });

  it('reports setsid in a group leader as EPERM', () => {
    const script = `const d = require(${JSON.stringify(require.resolve('../dist'))});
      d.setsid(); try { d.setsid(); } catch (e) { process.stdout.write(e.code + ' ' + e.syscall); }`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('EPERM setsid');
  });

  it('reports an unknown pid as ESRCH', () => {
    expect(() => getsid(2 ** 31 - 2)).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'getsid' }));
  });
});

describe('prctl', () => {
  it('sets and clears child subreaper', () => {
    expect(isChildSubreaper()).toBe(false);
    setChildSubreaper(true);
    expect(isChildSubreaper()).toBe(true);
    setChildSubreaper(false);
    expect(isChildSubreaper()).toBe(false);
  });

  it('sets a parent-death signal by name', () => {
    const script = `const d = require(${JSON.stringify(require.resolve('../dist'))});
      d.setParentDeathSignal('SIGTERM'); const a = d.getParentDeathSignal();
      d.setParentDeathSignal(null); process.stdout.write(a + ' ' + d.getParentDeathSignal());`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('15 0');
    expect(inChild(['setParentDeathSignal', 'SIGNOPE']).error.code).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('sets no_new_privs, which /proc shows', () => {
    const script = `const d = require(${JSON.stringify(require.resolve('../dist'))});
      d.setNoNewPrivileges(); process.stdout.write(d.hasNoNewPrivileges() + ' ' +
      require('fs').readFileSync('/proc/self/status', 'utf8').match(/NoNewPrivs:\\s+(\\d)/)[1]);`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('true 1');
  });
});

describe('platforms', () => {
  it('refuses to load on Windows with one clear error', () => {
    const script = `Object.defineProperty(process, 'platform', { value: 'win32' });
      try { require(${JSON.stringify(require.resolve('../dist'))}); } catch (e) { process.stdout.write(e.code + ': ' + e.message); }`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe(
      'ERR_UNSUPPORTED_PLATFORM: daemonkit does not support Windows (win32): it needs fork(2), setsid(2) and flock(2); run the program under a Windows service manager instead',
    );
  });
});
