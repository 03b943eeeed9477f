// Stopping what the command started, and what is left afterwards: the supervisor's stop ends
// the program's whole process group (grandchildren that ignore TERM included) after
// --stop-timeout; after a SIGKILL of the supervisor, stop ends the program's group; stop
// uses the stop signal the service was started with; an orderly supervisor removes its PID
// file; a supervised start that fails leaves no file; restart works from anywhere; the state
// file is its owner's only; the program does not inherit our NOTIFY_SOCKET; run forwards HUP.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, ourChildren, useProcessControl, useTmpDir, waitFor } from './helpers';
import { cliAt, cliIn, cliPath, pidOf } from './cli-run';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${++n}-${name}`);
const dirs = () => ({ DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') });
const stateOf = (d: NodeJS.ProcessEnv, name: string) => JSON.parse(readFileSync(join(d.DAEMONKIT_RUN_DIR!, `${name}.json`), 'utf8'));

/** A program that leaves a grandchild ignoring TERM (its pid in `marker`), then waits. */
function stubbornFamily(exitOnTerm: boolean): string {
  const script = fresh('family.sh');
  const marker = `${script}.grandchild`;
  writeFileSync(script, `(trap '' TERM; exec sleep 1000) &\necho $! > ${marker}\n${exitOnTerm ? "trap 'exit 0' TERM" : "trap '' TERM"}\nwhile :; do sleep 0.05; done\n`);
  return script;
}
const grandchildOf = (script: string) => waitFor('the grandchild', () => Number(readFileSync(`${script}.grandchild`, 'utf8')) || undefined);

describe('the supervisor stops the whole process group', () => {
  for (const exitOnTerm of [true, false]) {
    it(`after --stop-timeout, a grandchild that ignores TERM is killed too (program ${exitOnTerm ? 'exits' : 'ignores TERM'})`, async () => {
      const d = dirs();
      const script = stubbornFamily(exitOnTerm);
      const r = await cliIn(d, 'start', '--name', 'fam', '--restart', 'always', '--ready', 'exec', '--stop-timeout', '300ms', '--', 'sh', script);
      expect(r.code).toBe(0);
      const supervisor = pc.track(pidOf(r.stdout));
      const grandchild = pc.track(await grandchildOf(script));
      const stopped = await cliIn(d, 'stop', '--name', 'fam');
      // Within the supervisor's own timeout: the command never had to SIGKILL.
      expect([stopped.code, stopped.stdout]).toEqual([0, `fam stopped (pid ${supervisor})\n`]);
      await waitFor('the grandchild to be gone', () => !isAlive(grandchild));
      expect(readFileSync(join(d.DAEMONKIT_LOG_DIR, 'fam.log'), 'utf8')).toMatch(/SIGKILL to its process group/);
      // An orderly supervisor removed its PID file: not running, not "dead".
      expect((await cliIn(d, 'status', '--name', 'fam')).code).toBe(3);
    });
  }

  it('after a SIGKILL of the supervisor, stop ends the program and what it started', async () => {
    const d = dirs();
    const script = stubbornFamily(true);
    const r = await cliIn(d, 'start', '--name', 'orph', '--restart', 'always', '--ready', 'exec', '--', 'sh', script);
    const supervisor = pc.track(pidOf(r.stdout));
    const program = pc.track(stateOf(d, 'orph').programPid);
    const grandchild = pc.track(await grandchildOf(script));
    process.kill(supervisor, 'SIGKILL');
    await pc.exitOf(supervisor);
    // Refused at once, naming the pid in the PID file (its program holds the lock).
    const again = await cliIn(d, 'start', '--name', 'orph', '--restart', 'always', '--ready', 'exec', '--', 'sh', script);
    expect([again.code, again.stderr]).toEqual([3, `orph already running (pid ${supervisor})\n`]);
    const stopped = await cliIn(d, 'stop', '--name', 'orph', '--timeout', '300ms');
    expect(stopped.code).toBe(0);
    await waitFor('the program and its grandchild to be gone', () => !isAlive(program) && !isAlive(grandchild));
  });
});

describe('stop, restart and start leave things right', () => {
  it('stop uses the stop signal the program was started with', async () => {
    const d = dirs();
    const log = fresh('int.log');
    // It ignores TERM and ends on INT.
    const r = await cliIn(d, 'start', '--name', 'int', '--stop-signal', 'INT', '--ready', 'exec', '--log-file', log, '--', 'sh', '-c', "trap '' TERM; trap 'echo got INT; exit 0' INT; while :; do sleep 0.05; done");
    const pid = pc.track(pidOf(r.stdout));
    const stopped = await cliIn(d, 'stop', '--name', 'int');
    expect([stopped.code, stopped.stdout]).toEqual([0, `int stopped (pid ${pid})\n`]);
    expect(readFileSync(log, 'utf8')).toBe('got INT\n');
  });

  it('an orderly supervisor exit (on-failure, exit 0) removes its PID file: status says not running', async () => {
    const d = dirs();
    const r = await cliIn(d, 'start', '--name', 'ok', '--restart', 'on-failure', '--ready', 'exec', '--', 'sh', '-c', 'sleep 0.2');
    const supervisor = pc.track(pidOf(r.stdout));
    expect(await pc.exitOf(supervisor)).toEqual({ code: 0, signal: null });
    const st = await cliIn(d, 'status', '--name', 'ok');
    expect([st.code, st.stdout]).toEqual([3, `ok is not running (0 restarts, log ${join(d.DAEMONKIT_LOG_DIR, 'ok.log')})\n`]);
  });

  it('a supervised start that fails leaves no state file and no log of its own', async () => {
    const d = dirs();
    const r = await cliIn(d, 'start', '--name', 'nr', '--restart', 'always', '--ready-timeout', '300ms', '--', 'sleep', '1000');
    expect(r.code).toBe(1);
    expect(readdirSync(d.DAEMONKIT_RUN_DIR)).toEqual([]);
    expect(readdirSync(d.DAEMONKIT_LOG_DIR)).toEqual([]);
    expect(ourChildren((s) => s.state !== 'Z')).toEqual([]);
    expect((await cliIn(d, 'stop', '--name', 'nr')).code).toBe(2); // never existed
  });

  it('restart from another directory: relative paths were made absolute at start; a bad one is found before the stop', async () => {
    const d = dirs();
    const dir = fresh('here');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.env'), 'GREETING=hi\n');
    const log = join(dir, 'g.log');
    // Typed in `dir`, restarted from here.
    const started = await cliAt(dir, d, 'start', '--name', 'g2', '--env-file', 'app.env', '--log-file', 'g.log', '--ready', 'exec', '--', 'sh', '-c', 'echo "$GREETING"; exec sleep 1000');
    expect(started.code).toBe(0);
    const first = pc.track(pidOf(started.stdout));
    await waitFor('the greeting', () => readFileSync(log, 'utf8') === 'hi\n');
    const again = await cliIn(d, 'restart', '--name', 'g2');
    expect(again.code).toBe(0);
    pc.track(pidOf(again.stdout.split('\n')[1]));
    await waitFor('the second greeting', () => readFileSync(log, 'utf8') === 'hi\nhi\n');
    expect(isAlive(first)).toBe(false);
    // The env file is gone: restart refuses before it stops anything.
    const second = pidOf(again.stdout.split('\n')[1]);
    rmSync(join(dir, 'app.env'));
    const refused = await cliIn(d, 'restart', '--name', 'g2');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cannot read --env-file .*app\.env: ENOENT/);
    expect(isAlive(second)).toBe(true);
    // Its state file is for its owner only: it holds --env values.
    expect(statSync(join(d.DAEMONKIT_RUN_DIR, 'g2.json')).mode & 0o777).toBe(0o600);
    await cliIn(d, 'stop', '--name', 'g2');
  });

  it('bad supervisor options are refused with --restart never too', async () => {
    const d = dirs();
    const r = await cliIn(d, 'start', '--stop-signal', 'BOGUS', '--ready', 'exec', '--', 'sleep', '1000');
    expect([r.code, r.stderr]).toEqual([2, 'sleep: --stop-signal must be a signal name such as TERM, got "BOGUS"\n']);
    expect(ourChildren()).toEqual([]);
  });
});

describe('daemonkit run, continued', () => {
  it('forwards HUP to the program, and keeps our NOTIFY_SOCKET to itself', async () => {
    const log = fresh('hup.log');
    const child = pc.start(process.execPath, ['--', cliPath, 'run', '--name', 'h', '--pid-file', fresh('h.pid'), '--ready', 'exec', '--log-file', log, '--', 'sh', '-c', `echo "notify=$NOTIFY_SOCKET"; trap 'echo got HUP' HUP; while :; do sleep 0.05; done`], {
      env: { ...process.env, NOTIFY_SOCKET: '@daemonkit-test-nobody-listens' },
    });
    await waitFor('the program to start', () => existsSync(log) && readFileSync(log, 'utf8').includes('notify='));
    // run's own lines share the log (it cannot reach that socket, and says so): the program's
    // line is the one that matters.
    expect(readFileSync(log, 'utf8')).toMatch(/^notify=$/m);
    child.kill('SIGHUP');
    await waitFor('the program to get HUP', () => readFileSync(log, 'utf8').includes('got HUP'));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(child.exitCode).toBe(0);
  });
});

