// The published package, as the release check makes it (scripts/release-check.mjs: compile,
// prebuild, check, pack, install from a registry with no compiler, run the README's quick
// start), then installed into an empty project by a PATH that has no compiler and used from
// CommonJS, ESM and the CLI. Made in a copy of the repository so the other test files keep
// their dist/ and build/ while this runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPrebuild, libcHere, prebuildTargets } from '../scripts/prebuilds.mjs';
import { root, useTmpDir } from './helpers';
import { linkTargets } from './markdown';

const tmp = useTmpDir();
const version: string = require('../package.json').version;

function npmCli(): string {
  if (process.env.npm_execpath?.endsWith('.js')) return process.env.npm_execpath;
  return join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
}

let app = '';
let pkg = '';
let bareEnv: NodeJS.ProcessEnv = {};

// The addon file the package in `dir` must load: the one compiled in it, else the prebuild
// for this platform and libc.
function addonOf(dir: string): string {
  const built = join(dir, 'native', 'build', 'Release', 'daemonkit.node');
  const libc = libcHere();
  return existsSync(built) ? built : join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `daemonkit.${libc}.node`);
}

// Which .node files a program that imports daemonkit has mapped (/proc/self/maps), and
// whether node-gyp-build was loaded to find them.
function addonLoad(cwd: string, env: NodeJS.ProcessEnv, kind: 'esm' | 'cjs'): { mapped: string[]; nodeGypBuild: boolean } {
  const report = `const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
    const mapped = [...new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5]).filter((f) => f && f.endsWith('.node')))];
    const nodeGypBuild = Object.keys(require.cache).some((k) => k.includes('node-gyp-build'));
    console.log(JSON.stringify({ mapped, nodeGypBuild }));`;
  const script =
    kind === 'esm'
      ? `import 'daemonkit'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${report}`
      : `require('daemonkit'); ${report}`;
  const args = kind === 'esm' ? ['--input-type=module', '-e', script] : ['-e', script];
  return JSON.parse(execFileSync('node', args, { cwd, env, encoding: 'utf8' }));
}

let check: { status: number | null; stdout: string; stderr: string } = { status: null, stdout: '', stderr: '' };

beforeAll(() => {
  pkg = join(tmp(), 'pkg');
  mkdirSync(pkg);
  const sources = ['package.json', 'native', 'src', 'scripts', 'examples', 'docs', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
  for (const entry of sources) cpSync(join(root, entry), join(pkg, entry), { recursive: true });
  // The addon the checkout loads (built by `npm ci`, or a tarball's prebuilds under
  // scripts/test-tarball.sh): the compile step loads the library to list its exports.
  rmSync(join(pkg, 'native', 'build'), { recursive: true, force: true });
  const built = join(root, 'native', 'build', 'Release', 'daemonkit.node');
  if (existsSync(built)) cpSync(built, join(pkg, 'native', 'build', 'Release', 'daemonkit.node'));
  else cpSync(join(root, 'prebuilds'), join(pkg, 'prebuilds'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  const run = (args: string[], cwd: string, env: NodeJS.ProcessEnv = { ...process.env, npm_config_logs_dir: join(tmp(), 'npm-logs') }) =>
    execFileSync(process.execPath, [npmCli(), ...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  check = spawnSync(process.execPath, [join(pkg, 'scripts', 'release-check.mjs'), '--out', tmp()], {
    cwd: pkg,
    env: { ...process.env, npm_execpath: npmCli(), npm_config_logs_dir: join(tmp(), 'npm-logs') },
    encoding: 'utf8',
  });

  // A PATH with node and sh (npm runs install scripts with it) and nothing else: no cc,
  // g++, make or python for node-gyp to use.
  const bin = join(tmp(), 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  // npm's logs go to this test's directory; its cache (filled by `npm ci`) is read, so the
  // install needs no network.
  bareEnv = {
    HOME: process.env.HOME,
    PATH: bin,
    npm_config_cache: process.env.npm_config_cache,
    npm_config_logs_dir: join(tmp(), 'npm-logs'),
    PREBUILDS_ONLY: '1',
  };
  for (const k of Object.keys(bareEnv)) if (bareEnv[k] === undefined) delete bareEnv[k];

  app = join(tmp(), 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  run(['install', '--no-audit', '--no-fund', '--prefer-offline', join(tmp(), `daemonkit-${version}.tgz`)], app, bareEnv);
}, 240_000);

describe('the release check (npm run release:check)', () => {
  it('passes, prints the sizes and leaves the tarball', () => {
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`^✓ packed daemonkit-${version}\\.tgz: [\\d.]+ kB packed, [\\d.]+ kB unpacked, \\d+ files$`, 'm'));
    expect(check.stdout).toMatch(/^✓ npm install daemonkit: from a registry on 127\.0\.0\.1, no compiler on PATH, no warning, nothing compiled/m);
    expect(check.stdout).toMatch(/^✓ README quick start: [2-9] sessions, \d+ commands, as printed, from the installed package$/m);
    expect(existsSync(join(tmp(), `daemonkit-${version}.tgz`))).toBe(true);
  });

  it('refuses a prebuild that is missing, for another CPU, or for another libc', () => {
    const fake = join(tmp(), 'fake-root');
    const target = (platform: string, arch: string, libc: string) => prebuildTargets.find((t) => t.platform === platform && t.arch === arch && t.libc === libc)!;
    expect(checkPrebuild(fake, target('linux', 'x64', 'glibc'))).toBe('prebuilds/linux-x64/daemonkit.glibc.node is missing');
    // The addon this checkout loads, put where another platform's belongs.
    const elf = addonOf(root);
    const arch = process.arch as 'x64' | 'arm64';
    const other = arch === 'x64' ? 'arm64' : 'x64';
    const libc = libcHere();
    const otherLibc = libc === 'glibc' ? 'musl' : 'glibc';
    const place = (t: { file: string }, data = readFileSync(elf)) => {
      mkdirSync(dirname(join(fake, t.file)), { recursive: true });
      writeFileSync(join(fake, t.file), data);
    };
    place(target('linux', other, libc));
    expect(checkPrebuild(fake, target('linux', other, libc))).toMatch(new RegExp(`is for ELF machine ${arch === 'x64' ? 62 : 183}, not ${other}`));
    place(target('linux', arch, otherLibc));
    expect(checkPrebuild(fake, target('linux', arch, otherLibc))).toMatch(libc === 'glibc' ? /needs glibc/ : /names no GLIBC_ symbol version/);
    place(target('darwin', arch, 'glibc'));
    expect(checkPrebuild(fake, target('darwin', arch, 'glibc'))).toMatch(/is not a 64-bit Mach-O file/);
    if (libc === 'glibc') {
      // An addon built against a newer glibc than Node's own builds need (the name it imports).
      place(target('linux', arch, 'glibc'), Buffer.concat([readFileSync(elf), Buffer.from('GLIBC_2.34\0')]));
      expect(checkPrebuild(fake, target('linux', arch, 'glibc'))).toMatch(/needs GLIBC_2\.34, newer than the GLIBC_2\.28/);
    }
  });
});

describe('finding the addon in a checkout', () => {
  const env = { ...process.env, PREBUILDS_ONLY: undefined };

  // Under scripts/test-tarball.sh the checkout has the tarball's prebuilds and no build.
  const built = existsSync(join(root, 'native', 'build', 'Release', 'daemonkit.node'));
  (built ? it : it.skip)(`loads native/build/Release, without node-gyp-build${built ? '' : ' [skipped: no native/build/ in this checkout]'}`, () => {
    const expected = join(root, 'native', 'build', 'Release', 'daemonkit.node');
    expect(addonLoad(root, env, 'esm')).toEqual({ mapped: [expected], nodeGypBuild: false });
    expect(addonLoad(root, env, 'cjs')).toEqual({ mapped: [expected], nodeGypBuild: false });
  });

  it('loads native/build/Release/daemonkit.node whatever else that directory holds', () => {
    // In the copy that was packed (beforeAll): our addon and a second one beside it, where
    // node-gyp-build would take whichever readdir lists first.
    const release = join(pkg, 'native', 'build', 'Release');
    mkdirSync(release, { recursive: true });
    const addon = addonOf(root); // native/build's, or a tarball's prebuild
    copyFileSync(addon, join(release, 'daemonkit.node'));
    copyFileSync(addon, join(release, 'another.node'));
    expect(addonLoad(pkg, env, 'esm')).toEqual({ mapped: [join(release, 'daemonkit.node')], nodeGypBuild: false });
  });

  it('names every file it looked for when there is no addon', () => {
    const bare = join(tmp(), 'no-addon');
    mkdirSync(bare);
    cpSync(join(root, 'dist'), join(bare, 'dist'), { recursive: true });
    copyFileSync(join(root, 'package.json'), join(bare, 'package.json'));
    const r = spawnSync(process.execPath, ['-e', "require('./dist/index.js')"], { cwd: bare, env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    const tuple = `${process.platform}-${process.arch}`;
    const libc = libcHere();
    for (const file of ['native/build/Release/daemonkit.node', 'native/build/Debug/daemonkit.node', `prebuilds/${tuple}/daemonkit.${libc}.node`]) {
      expect(r.stderr).toContain(`  ${join(bare, file)}\n`);
    }
    expect(r.stderr).toContain(`daemonkit has no native addon for ${tuple}; looked for:`);
    expect(r.stderr).toContain('`npm explore daemonkit -- npm run build-addon`');
  });
});

describe('the ESM entry', () => {
  const esm = (script: string) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }).trim();

  it('is the CommonJS bundle: the same object, and exactly its names', () => {
    const script = `import * as esm from 'daemonkit'; import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('daemonkit');
      const named = Object.keys(esm).filter((k) => k !== 'default').sort();
      console.log(esm.default === cjs, JSON.stringify(named) === JSON.stringify(Object.keys(cjs).sort()), named.includes('daemonize'));`;
    expect(esm(script)).toBe('true true true');
  });

  it('builds no ES module facade of node:fs', () => {
    // process.moduleLoadList names every builtin Node has loaded. The ES module facade of
    // node:fs reads fs.ReadStream, which loads fs's streams (~2 ms per process, twice per
    // daemon start); the library takes node:fs through require().
    const streams = "console.log(process.moduleLoadList.includes('NativeModule internal/fs/streams'))";
    expect(esm(`import 'node:fs'; ${streams}`)).toBe('true'); // what a facade does
    expect(esm(`import 'daemonkit'; ${streams}`)).toBe('false');
  });
});

describe('installed from the tarball without a compiler', () => {
  it('had no compiler on the PATH it installed with', () => {
    for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) {
      expect(spawnSync(tool, ['--version'], { env: bareEnv }).error).toMatchObject({ code: 'ENOENT' });
    }
  });

  it('ships the prebuild, runs no install script and compiled nothing', () => {
    const installed = join(app, 'node_modules', 'daemonkit');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect([manifest.scripts.preinstall, manifest.scripts.install, manifest.scripts.postinstall]).toEqual([undefined, undefined, undefined]);
    // npm, pnpm and yarn make `node-gyp rebuild` the install script of a package with a
    // binding.gyp at its root.
    expect(existsSync(join(installed, 'binding.gyp'))).toBe(false);
    expect(existsSync(join(installed, 'native', 'binding.gyp'))).toBe(true);
    expect(Object.keys(manifest.dependencies)).toEqual(['node-addon-api']);
    expect(readdirSync(join(installed, 'prebuilds', `${process.platform}-${process.arch}`))).toEqual([
      expect.stringMatching(/\.node$/),
    ]);
    expect(existsSync(join(installed, 'native', 'build'))).toBe(false);
    expect(existsSync(join(installed, 'dist', 'index.d.ts'))).toBe(true);
  });

  it('works from CommonJS', () => {
    const out = execFileSync('node', ['-e', "const d = require('daemonkit'); console.log(JSON.stringify(d.getrlimit('nofile')))"], {
      cwd: app,
      env: bareEnv,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ soft: expect.any(Number), hard: expect.anything() });
  });

  it('works from ESM with named imports, and starts a daemon', () => {
    const script = `import daemonkit, { spawnDaemon, reap, setChildSubreaper } from 'daemonkit';
      if (daemonkit.spawnDaemon !== spawnDaemon) throw new Error('the default export is not the API');
      setChildSubreaper(true);
      const pid = spawnDaemon('/bin/true');
      while (reap(pid) === null) {}
      console.log('daemon', pid, 'done');`;
    const out = execFileSync('node', ['--input-type=module', '-e', script], { cwd: app, env: bareEnv, encoding: 'utf8' });
    expect(out).toMatch(/^daemon \d+ done\n$/);
  });

  it('loads its prebuild, without node-gyp-build, from ESM and CommonJS', () => {
    const installed = join(app, 'node_modules', 'daemonkit');
    const env = { ...bareEnv, PREBUILDS_ONLY: undefined };
    const expected = addonOf(installed);
    expect(expected).toMatch(new RegExp(`prebuilds/${process.platform}-${process.arch}/daemonkit\\.(glibc|musl)\\.node$`));
    expect(addonLoad(app, env, 'esm')).toEqual({ mapped: [expected], nodeGypBuild: false });
    expect(addonLoad(app, env, 'cjs')).toEqual({ mapped: [expected], nodeGypBuild: false });
    // node-gyp-build's overrides are its own: they do not steer daemonkit's lookup.
    expect(addonLoad(app, { ...env, DAEMONKIT_PREBUILD: join(tmp(), 'elsewhere') }, 'esm')).toEqual({ mapped: [expected], nodeGypBuild: false });
  });

  it('ships its documents with every relative link resolving, but to the repository-only BENCHMARKS.md', () => {
    const installed = join(app, 'node_modules', 'daemonkit');
    const docs = ['README.md', 'CHANGELOG.md', 'docs/guide.md', 'docs/api.md', 'docs/design.md'];
    const bad: string[] = [];
    for (const doc of docs) {
      for (const link of linkTargets(readFileSync(join(installed, doc), 'utf8'))) {
        const path = link.split('#')[0];
        if (/^[a-z]+:/.test(link) || path === '' || path.endsWith('BENCHMARKS.md')) continue;
        if (!existsSync(join(installed, dirname(doc), path))) bad.push(`${doc}: ${link}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('builds its addon with the command its error gives, where no prebuild fits', () => {
    // The installed project, copied without the prebuilds: a platform that has none.
    const other = join(tmp(), 'no-prebuild');
    cpSync(app, other, { recursive: true, verbatimSymlinks: true });
    rmSync(join(other, 'node_modules', 'daemonkit', 'prebuilds'), { recursive: true });
    const before = spawnSync('node', ['-e', "require('daemonkit')"], { cwd: other, env: bareEnv, encoding: 'utf8' });
    expect(before.status).toBe(1);
    const command = /`(npm explore daemonkit -- npm run build-addon)`/.exec(before.stderr)![1];
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`\n${command}\n`); // as the README prints it
    // With a compiler this time: the PATH the tests run with.
    const build = spawnSync(process.execPath, [npmCli(), ...command.split(' ').slice(1)], {
      cwd: other,
      env: { ...process.env, npm_config_logs_dir: join(tmp(), 'npm-logs') },
      encoding: 'utf8',
    });
    expect(build.status, `${build.stdout}${build.stderr}`).toBe(0);
    const built = join(other, 'node_modules', 'daemonkit', 'native', 'build', 'Release', 'daemonkit.node');
    expect(addonLoad(other, bareEnv, 'cjs')).toEqual({ mapped: [built], nodeGypBuild: false });
  }, 120_000);

  it('installs the daemonkit command', () => {
    const out = execFileSync(join(app, 'node_modules', '.bin', 'daemonkit'), ['--version'], { env: bareEnv, encoding: 'utf8' });
    expect(out).toBe(`${version}\n`);
  });
});
