// The Linux addon loads wherever Node's own Linux binaries run: RHEL 8 and Debian 11 have
// glibc 2.28 and an older libstdc++, so the addon may import no symbol version newer than
// GLIBC_2.28, and no libstdc++ version newer than the ones Node itself imports. objdump -T
// (binutils) lists the version of every imported symbol, whatever glibc built the addon.
// scripts/prebuilds.mjs makes the same check, without objdump, on every prebuild of a release.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers';

// The addon the checkout loads: compiled here, or (scripts/test-tarball.sh) a tarball's prebuild.
const built = join(root, 'native', 'build', 'Release', 'daemonkit.node');
const addon = existsSync(built) ? built : join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'daemonkit.glibc.node');

function why(): string | undefined {
  if (process.platform !== 'linux') return `symbol versions are a glibc matter, running on ${process.platform}`;
  if (process.report?.getReport && !(process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime) {
    return 'not a glibc system (musl): no symbol versions';
  }
  if (spawnSync('objdump', ['--version'], { stdio: 'ignore' }).error) return 'objdump (binutils) is not installed';
  return undefined;
}
const skip = why();

/** The highest version of each versioned namespace (GLIBC, GLIBCXX, CXXABI) a binary imports. */
function newestImports(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const text = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  for (const line of text.split('\n')) {
    if (!line.includes('*UND*')) continue;
    const m = /\(?\b(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)\)?/.exec(line);
    if (m === null) continue;
    if (out[m[1]] === undefined || newer(m[2], out[m[1]])) out[m[1]] = m[2];
  }
  return out;
}

function newer(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
}

describe('the Linux addon binary', () => {
  (skip === undefined ? it : it.skip)(`needs at most GLIBC_2.28, GLIBCXX_3.4.21 and CXXABI_1.3.9${skip === undefined ? '' : ` [skipped: ${skip}]`}`, () => {
    const imports = newestImports(addon);
    expect(imports.GLIBC).toBeDefined(); // the parse found the versions at all
    const over = Object.entries({ GLIBC: '2.28', GLIBCXX: '3.4.21', CXXABI: '1.3.9' })
      .filter(([ns, max]) => imports[ns] !== undefined && newer(imports[ns], max))
      .map(([ns, max]) => `${ns}_${imports[ns]} (at most ${ns}_${max})`);
    expect({ addon, over }).toEqual({ addon, over: [] });
  });
});
