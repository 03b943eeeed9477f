// examples/*.mjs run exactly as docs/guide.md shows them (with free ports and temporary paths).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort, packageAsNobody, procStatus, root, rootIt, useProcessControl, useTmpDir, httpGet } from './helpers';

const pc = useProcessControl();
const tmp = useTmpDir();



it('examples/hello.mjs daemonizes, serves, writes its PID file and stops cleanly', async () => {
  const port = freePort();
  const pidFile = join(tmp(), 'hello.pid');
  const logFile = join(tmp(), 'hello.log');
  const out = execFileSync(process.execPath, [join(root, 'examples', 'hello.mjs'), String(port), pidFile, logFile], { encoding: 'utf8' });
  const pid = Number(/^hello started \(pid (\d+)\)\n$/.exec(out)![1]);
  pc.track(pid);
  expect(readFileSync(pidFile, 'utf8')).toBe(`${pid}\n`);
  expect(await httpGet(port)).toBe(`hello from pid ${pid}\n`);
  // The program's own output, between the lifecycle event lines.
  expect(readFileSync(logFile, 'utf8')).toMatch(new RegExp(`^\\S+ hello\\[${pid}\\]: started\\nserving on port ${port}\\n\\S+ hello\\[${pid}\\]: ready\\n$`));
  process.kill(pid, 'SIGTERM');
  await pc.exitOf(pid);
  expect(existsSync(pidFile)).toBe(false);
});

rootIt('examples/privileged.mjs binds a port below 1024 as root and answers as nobody', async () => {
  const port = freePort('127.0.0.1', 900); // "80" in the guide; any free privileged port here
  const pidFile = join(tmp(), 'privileged.pid');
  // It runs as nobody from its first line: nobody must be able to read it.
  const out = execFileSync(process.execPath, [join(packageAsNobody(), 'examples', 'privileged.mjs'), String(port), pidFile], { encoding: 'utf8' });
  const pid = Number(/^privileged started \(pid (\d+)\)\n$/.exec(out)![1]);
  pc.track(pid);
  expect(await httpGet(port)).toBe('uid 65534\n');
  expect(procStatus(pid).Uid).toBe('65534\t65534\t65534\t65534');
});

it('examples/entry.mjs and app.mjs are the guide\'s "Keep the launcher light", as printed', () => {
  const readme = readFileSync(join(root, 'docs', 'guide.md'), 'utf8');
  for (const name of ['entry.mjs', 'app.mjs']) expect(readme).toContain(readFileSync(join(root, 'examples', name), 'utf8'));
});
