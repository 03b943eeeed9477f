// Every ```js example in README.md runs as written (files under /tmp moved into a temporary
// directory), as an ES module importing 'daemonkit' from an installed-looking node_modules,
// and exits 0.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listenTcp, reap } from '../src/index';
import { isRoot, ourChildren, root, useProcessControl, useTmpDir, waitFor, httpGet } from './helpers';


useProcessControl(); // daemons the examples start become our children: reaped below
const tmp = useTmpDir();
const examples = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

beforeAll(() => {
  chmodSync(tmp(), 0o1777); // like /tmp: a dropped daemon may remove its own PID file
  mkdirSync(join(tmp(), 'node_modules'));
  symlinkSync(root, join(tmp(), 'node_modules', 'daemonkit'));
});

describe('README examples', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(6));

  examples.forEach((code, i) => {
    const title = code.split('\n').find((l) => l.startsWith('import'))?.slice(0, 70) ?? `example ${i}`;
    // The daemonize() example is documented as run with sudo: it drops to nobody.
    const test = code.includes("user: 'nobody'") && !isRoot ? it.skip : it;
    test(`example ${i + 1} runs: ${title}${test === it ? '' : ' [skipped: drops to nobody, needs root]'}`, async () => {
      const file = join(tmp(), `example-${i}.mjs`);
      // The examples use /tmp/... and port 8080; here they use this test's own directory and
      // a free port.
      const free = listenTcp({ host: '127.0.0.1', port: 0 });
      closeSync(free.fd);
      writeFileSync(file, code.replaceAll("'/tmp/", `'${tmp()}/`).replaceAll('port: 8080', `port: ${free.port}`));
      const out = execFileSync(process.execPath, [file], { cwd: tmp(), encoding: 'utf8', timeout: 20_000 });
      const started = /^(\w+) started \(pid (\d+)\)$/m.exec(out);
      if (started) {
        // A daemon: it answers, then stops cleanly and takes its PID file with it.
        const pid = Number(started[2]);
        expect(await httpGet(free.port)).toBe('hello from uid 65534\n');
        process.kill(pid, 'SIGTERM');
        await waitFor(`daemon ${pid} to exit`, () => reap(pid) !== null);
        expect(existsSync(join(tmp(), `${started[1]}.pid`))).toBe(false);
      }
      // `console.log(...); // output` documents the line printed, unless it says "as root".
      const documented = [...code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map((m) => m[1]).filter((d) => !d.startsWith('as root'));
      for (const line of documented) expect(out.split('\n')).toContain(line.replaceAll('/tmp/', `${tmp()}/`));
      for (const pid of ourChildren()) await waitFor(`example daemon ${pid} to exit`, () => reap(pid) !== null);
    });
  });
});
