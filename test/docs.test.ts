// The documentation a user reads: the README short enough to read in ten minutes and free of
// maintainer history, and every relative link in it and in the other documents leading to a
// file of the repository and, with an anchor, to a heading of that file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers';
import { headingAnchors, linkTargets } from './markdown';

const documents = ['README.md', 'docs/guide.md', 'docs/design.md', 'BENCHMARKS.md', 'CHANGELOG.md'];
const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('README.md', () => {
  it('is at most 350 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(350);
  });

  it('has what a user looks for, in order', () => {
    const chapters = [...readme.matchAll(/^## (.*)$/gm)].map((m) => m[1]);
    const wanted = ['Install', 'Quick start', 'daemonize() options', 'The daemonkit command', 'Exit codes', 'Errors', 'Supported platforms', 'Security', 'Links'];
    expect(chapters.filter((c) => wanted.includes(c))).toEqual(wanted);
    for (const peer of ['start-stop-daemon', 'pm2', 'forever', 'supervisord', 'systemd']) expect(readme).toMatch(new RegExp(`^\\|.*\\| ${peer} \\|`, 'm'));
  });

  it('quotes memory figures that BENCHMARKS.md has (test/bench-charts.test.ts ties those to the JSON)', () => {
    const row = /^\| memory of what stays running \|(.*)$/m.exec(readme)![1];
    const figures = [...row.matchAll(/([\d.]+) MiB/g)].map((m) => m[1]);
    expect(figures.length).toBe(4);
    const benchmarks = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
    for (const figure of figures) expect(benchmarks).toMatch(new RegExp(`\\b${figure.replace('.', '\\.')} MiB`));
  });

  it('names no issue and no file a user of the package cannot see', () => {
    expect(readme).not.toMatch(/\bissues? #?\d+/i);
    expect(readme).not.toMatch(/\b(test|bench|src|scripts)\/[\w.-]+/);
  });
});

describe.each(documents)('%s', (doc) => {
  const text = readFileSync(join(root, doc), 'utf8');
  const links = linkTargets(text).filter((l) => !/^[a-z]+:/.test(l));

  it('has relative links that resolve, anchors included', () => {
    const bad: string[] = [];
    for (const link of links) {
      const [path, anchor] = link.split('#');
      const target = path === '' ? join(root, doc) : join(root, dirname(doc), path);
      if (!existsSync(target) || relative(root, target).startsWith('..')) {
        bad.push(`${link} (no such file)`);
      } else if (anchor !== undefined && statSync(target).isFile() && !headingAnchors(readFileSync(target, 'utf8')).has(anchor)) {
        bad.push(`${link} (no such heading)`);
      }
    }
    expect(bad).toEqual([]);
  });
});

it('the documents link to each other', () => {
  for (const doc of documents.filter((d) => d !== 'README.md')) expect(linkTargets(readme)).toContain(doc);
  expect(linkTargets(readme)).toContain('docs/api.md');
});
