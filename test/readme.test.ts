// Every ```js example in README.md runs as written (files under /tmp moved into a temporary
// directory), as an ES module importing 'daemonkit' from an installed-looking node_modules,
// and exits 0.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reap } from '../src/index';
import { ourChildren, root, useProcessControl, useTmpDir, waitFor } from './helpers';

useProcessControl(); // daemons the examples start become our children: reaped below
const tmp = useTmpDir();
const examples = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

beforeAll(() => {
  mkdirSync(join(tmp(), 'node_modules'));
  symlinkSync(root, join(tmp(), 'node_modules', 'daemonkit'));
});

describe('README examples', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(6));

  examples.forEach((code, i) => {
    const title = code.split('\n').find((l) => l.startsWith('import'))?.slice(0, 70) ?? `example ${i}`;
    it(`example ${i + 1} runs: ${title}`, async () => {
      const file = join(tmp(), `example-${i}.mjs`);
      // The examples use /tmp/...; here they write into this test's own directory instead.
      writeFileSync(file, code.replaceAll("'/tmp/", `'${tmp()}/`));
      const out = execFileSync(process.execPath, [file], { cwd: tmp(), encoding: 'utf8', timeout: 20_000 });
      // `console.log(...); // output` documents the line printed, unless it says "as root".
      const documented = [...code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map((m) => m[1]).filter((d) => !d.startsWith('as root'));
      for (const line of documented) expect(out.split('\n')).toContain(line.replaceAll('/tmp/', `${tmp()}/`));
      for (const pid of ourChildren()) await waitFor(`example daemon ${pid} to exit`, () => reap(pid) !== null);
    });
  });
});
