// Every ```js example in README.md and docs/guide.md runs as written (files under /tmp moved
// into a temporary directory), as an ES module importing 'daemonkit' from an
// installed-looking node_modules, and exits 0. The files a session runs (`// server.mjs`
// before a ```console block) are run by that session instead (test/readme-cli.test.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionsOf } from '../scripts/readme-session.mjs';
import { reap } from '../src/index';
import { freePort, isAlive, isRoot, ourChildren, packageAsNobody, root, useProcessControl, useTmpDir, waitFor } from './helpers';


useProcessControl(); // daemons the examples start become our children: reaped below
const tmp = useTmpDir();
const docs = ['README.md', 'docs/guide.md'].map((doc) => readFileSync(join(root, doc), 'utf8'));
const runBySessions = new Set(docs.flatMap((text) => sessionsOf(text).flatMap((s) => s.files.map((f) => f.code))));
const examples = docs.flatMap((text) => [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])).filter((code) => !runBySessions.has(code));

beforeAll(() => {
  chmodSync(tmp(), 0o1777); // like /tmp: a dropped daemon may remove its own PID file
  mkdirSync(join(tmp(), 'node_modules'));
  // The daemon of an example with a user is that user from its first line: it must read
  // the package, wherever the checkout is.
  symlinkSync(packageAsNobody(), join(tmp(), 'node_modules', 'daemonkit'));
  // What the examples import from beside themselves.
  copyFileSync(join(root, 'examples', 'app.mjs'), join(tmp(), 'app.mjs'));
});

describe('README examples', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(6));

  examples.forEach((code, i) => {
    const title = code.split('\n').find((l) => l.startsWith('import'))?.slice(0, 70) ?? `example ${i}`;
    // The daemonize() example is documented as run with sudo: it drops to nobody.
    const test = code.includes("user: 'nobody'") && !isRoot ? it.skip : it;
    test(`example ${i + 1} runs: ${title}${test === it ? '' : ' [skipped: drops to nobody, needs root]'}`, async () => {
      const file = join(tmp(), `example-${i}.mjs`);
      // The examples use /tmp/... and ports 8080, 8081; here they use this test's own
      // directory and free ports.
      const ports = new Map([8080, 8081].map((p) => [String(p), String(freePort())]));
      const local = (text: string) => text.replaceAll('/tmp/', `${tmp()}/`).replace(/\b(8080|8081)\b/g, (p) => ports.get(p)!);
      writeFileSync(file, local(code));
      const out = execFileSync(process.execPath, [file], { cwd: tmp(), encoding: 'utf8', timeout: 20_000 });
      const started = /^(\w+) started \(pid (\d+)\)$/m.exec(out);
      if (started) {
        // A daemon: it answers as its `// curl URL → answer` comments say ("1234" is its pid),
        // then stops (by SIGTERM, unless a curl stopped it) and takes its PID file with it.
        const pid = Number(started[2]);
        const curls = [...code.matchAll(/\/\/ curl (?:-X (\w+) )?(\S+)\s+→\s+(.+)$/gm)];
        expect(curls.length).toBeGreaterThan(0);
        for (const [, method = 'GET', url, answer] of curls) {
          expect(await httpText(method, local(url))).toBe(`${answer.replaceAll('1234', String(pid))}\n`);
        }
        if (isAlive(pid)) process.kill(pid, 'SIGTERM');
        const status = await waitFor(`daemon ${pid} to exit`, () => reap(pid) ?? undefined);
        expect(status).toEqual({ code: 0, signal: null });
        expect(existsSync(join(tmp(), `${started[1]}.pid`))).toBe(false);
      }
      // `console.log(...); // output` documents the line printed, unless it says "as root".
      const documented = [...code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map((m) => m[1]).filter((d) => !d.startsWith('as root'));
      for (const line of documented) expect(out.split('\n')).toContain(line.replaceAll('/tmp/', `${tmp()}/`));
      for (const pid of ourChildren()) await waitFor(`example daemon ${pid} to exit`, () => reap(pid) !== null);
    });
  });
});

function httpText(method: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { method, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}
