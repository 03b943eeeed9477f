// npm run release:check [-- --prebuilds all] [--out DIR]
// node scripts/release-check.mjs --tarball FILE      (steps 5 and 6 only, on that tarball)
//
// Without --prebuilds all, prebuilds/ is replaced by this platform's alone.
//
// What would ship, built and tried as a user gets it, in the steps of the release workflow
// (.github/workflows/release.yml):
//   1. the prebuilds: this platform's built with prebuildify (in a scratch copy of native/),
//      or (--prebuilds all, in the workflow) the six the build jobs made, required to be there;
//   2. compile dist/ from nothing;
//   3. each prebuild checked: the right file format and CPU, no glibc symbol newer than
//      Node's own Linux builds need (2.28), and this platform's loaded;
//   4. npm pack into DIR (default release/), its contents checked, its sizes printed;
//   5. `npm install daemonkit` from a registry on 127.0.0.1 that serves the tarball (other
//      packages come from the configured registry), with no compiler on PATH: it must print
//      no warning and compile nothing;
//   6. the README's quick start run as printed from the installed package
//      (scripts/readme-session.mjs).
// Leaves DIR/daemonkit-VERSION.tgz, verified. Exit 0, or 1 with the step that failed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkPrebuild, prebuildTargets } from './prebuilds.mjs';
import { runSession, sessionsOf } from './readme-session.mjs';

const root = resolve(import.meta.dirname ?? dirname(new URL(import.meta.url).pathname), '..');
/** Bad input: one line that says what to do, exit 2, nothing done. */
function usage(message) {
  console.error(`release check: ${message}`);
  process.exit(2);
}
let values;
try {
  ({ values } = parseArgs({
    options: { prebuilds: { type: 'string', default: 'local' }, out: { type: 'string', default: join(root, 'release') }, tarball: { type: 'string' } },
  }));
} catch (err) {
  usage(`${err.message} (options: --prebuilds local|all, --out DIR, --tarball FILE)`);
}
if (!['local', 'all'].includes(values.prebuilds)) usage(`--prebuilds ${values.prebuilds}: use local (build this platform's) or all (check the six)`);
// The package as the tarball has it when one is given (the workflow's test jobs), else the
// checkout's.
let pkg;
if (values.tarball) {
  const manifest = spawnSync('tar', ['-xzOf', values.tarball, 'package/package.json'], { encoding: 'utf8' });
  if (manifest.status !== 0) usage(`--tarball ${values.tarball}: not a package tarball (${manifest.stderr.trim().split('\n')[0] || `tar exited ${manifest.status}`})`);
  pkg = JSON.parse(manifest.stdout);
} else {
  pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
}
const npmCli = process.env.npm_execpath?.endsWith('.js') ? process.env.npm_execpath : join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const npm = (args, options = {}) => execFileSync(process.execPath, [npmCli, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
/** An npm command whose output is shown only if it fails. */
function quiet(args, cwd = root) {
  const r = spawnSync(process.execPath, [npmCli, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) fail(`npm ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
}
const work = mkdtempSync(join(tmpdir(), 'daemonkit-release-'));
const started = Date.now();

class CheckFailed extends Error {}
function fail(message) {
  throw new CheckFailed(message);
}
function step(name, detail) {
  console.log(`✓ ${name}${detail ? `: ${detail}` : ''}`);
}
const kB = (n) => `${(n / 1000).toFixed(1)} kB`;

try {
  const tarball = values.tarball ? resolve(values.tarball) : buildAndPack();

  // 5
  const bin = join(work, 'bin'); // node and sh; no cc, g++, make or python3
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const upstream = npm(['config', 'get', 'registry']).trim();
  const registry = await serveRegistry(tarball, pkg, upstream);
  const env = { HOME: process.env.HOME, PATH: bin, npm_config_logs_dir: join(work, 'npm-logs'), npm_config_update_notifier: 'false' };
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  // Not spawnSync: this process serves the registry while npm installs.
  const install = await run(process.execPath, [npmCli, 'install', pkg.name, `--registry=${registry.url}`, '--replace-registry-host=never', '--no-audit', '--no-fund'], { cwd: app, env });
  registry.close();
  const said = `${install.stdout}${install.stderr}`.trim();
  if (install.status !== 0) fail(`npm install ${pkg.name} exited ${install.status}:\n${said}`);
  const warnings = said.split('\n').filter((l) => /\b(warn|WARN|error|ERR!)\b/.test(l));
  if (warnings.length > 0) fail(`npm install ${pkg.name} warned:\n${warnings.join('\n')}`);
  const installed = join(app, 'node_modules', pkg.name);
  for (const build of ['build', 'native/build']) {
    if (existsSync(join(installed, build))) fail(`the install compiled the addon (node_modules/${pkg.name}/${build}/ exists)`);
  }
  const version = execFileSync(join(app, 'node_modules', '.bin', 'daemonkit'), ['--version'], { env, encoding: 'utf8' }).trim();
  if (version !== pkg.version) fail(`daemonkit --version printed ${version}, not ${pkg.version}`);
  step(`npm install ${pkg.name}`, `from a registry on 127.0.0.1, no compiler on PATH, no warning, nothing compiled ("${said.split('\n').at(-1)}")`);

  // 6
  const library = createRequire(join(app, 'package.json'))(pkg.name);
  const subreaper = process.platform === 'linux';
  if (subreaper) library.setChildSubreaper(true); // the daemons the session starts become ours
  const tools = join(work, 'tools'); // the no-compiler PATH, and what the quick start runs
  mkdirSync(tools);
  for (const tool of ['node', 'sh']) symlinkSync(join(bin, tool), join(tools, tool));
  for (const tool of ['python3', 'curl', 'cat', 'kill', 'sleep']) {
    // The system's own first: a version manager's shim is a script that needs more PATH.
    const found = ['/usr/bin', '/bin'].map((dir) => join(dir, tool)).find((file) => existsSync(file)) ?? spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found.startsWith('/')) symlinkSync(found, join(tools, tool));
  }
  const quickStart = sessionsOf(readFileSync(join(installed, 'README.md'), 'utf8')).filter((s) => /^quick start/i.test(s.chapter));
  if (quickStart.length === 0) fail('the README has no quick start session (a ```console block under "Quick start")');
  let commands = 0;
  for (const session of quickStart) {
    const tmp = mkdtempSync(join(work, 'session-'));
    const logDir = join(tmp, 'log');
    const sessionEnv = { ...env, PATH: `${join(app, 'node_modules', '.bin')}:${tools}`, DAEMONKIT_RUN_DIR: join(tmp, 'run'), DAEMONKIT_LOG_DIR: logDir };
    const result = runSession(session, { cwd: app, env: sessionEnv, port: await freePort(), tmp, logDir });
    await ended(result.pids, library, subreaper);
    for (const s of result.steps) {
      commands++;
      if (s.printed !== s.expected) fail(`README quick start ("${session.section}"): \`${s.command}\` printed\n${s.printed}\ninstead of\n${s.expected}`);
    }
  }
  step('README quick start', `${quickStart.length} sessions, ${commands} commands, as printed, from the installed package`);
  console.log(`release check passed in ${((Date.now() - started) / 1000).toFixed(0)} s: ${tarball}`);
} catch (err) {
  if (!(err instanceof CheckFailed)) throw err;
  console.error(`release check failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** A registry of one package on 127.0.0.1; every other request goes to `upstream`. */
function serveRegistry(tarball, pkg, upstream) {
  const data = readFileSync(tarball);
  const tarballPath = `/${pkg.name}/-/${pkg.name}-${pkg.version}.tgz`;
  const server = createServer(async (req, res) => {
    const here = `http://127.0.0.1:${server.address().port}`;
    if (req.url === `/${pkg.name}`) {
      const dist = { tarball: `${here}${tarballPath}`, shasum: createHash('sha1').update(data).digest('hex'), integrity: `sha512-${createHash('sha512').update(data).digest('base64')}` };
      const packument = { name: pkg.name, 'dist-tags': { latest: pkg.version }, versions: { [pkg.version]: { ...pkg, _id: `${pkg.name}@${pkg.version}`, dist } } };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
    } else if (req.url === tarballPath) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data);
    } else {
      try {
        const r = await fetch(new URL(req.url.slice(1), upstream.endsWith('/') ? upstream : `${upstream}/`), { headers: { accept: req.headers.accept ?? '*/*' } });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' }).end(Buffer.from(await r.arrayBuffer()));
      } catch (err) {
        res.writeHead(502).end(String(err));
      }
    }
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() })));
}

/** spawnSync's result, without blocking this process. */
function run(file, args, options) {
  return new Promise((done) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

function freePort() {
  return new Promise((done) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

/** Waits for every pid a session printed to be gone; kills and fails on one left behind. */
async function ended(pids, library, subreaper) {
  const gone = (pid) => {
    if (subreaper) {
      try {
        return library.reap(pid) !== null;
      } catch (err) {
        // Not a child of ours (a supervisor's program): it is its parent's to reap.
        if (err.code !== 'ECHILD') throw err;
      }
    }
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  const left = [];
  for (const pid of pids) {
    const until = Date.now() + 10_000;
    while (!gone(pid)) {
      if (Date.now() > until) {
        left.push(pid);
        process.kill(pid, 'SIGKILL');
        while (!gone(pid)) await new Promise((r) => setTimeout(r, 10));
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  if (left.length > 0) fail(`the quick start left pid ${left.join(', ')} running (killed now)`);
}

/** Steps 1 to 4: the tarball that would ship, checked; its path. */
function buildAndPack() {
  // 1 before 2: compiling loads the library, and so an addon.
  const targets = values.prebuilds === 'all' ? prebuildTargets : prebuildTargets.filter((t) => t.here());
  if (targets.length === 0) fail(`no prebuild target is this platform (${process.platform}-${process.arch})`);
  if (values.prebuilds === 'local') {
    // In a copy of the addon's sources: prebuildify rebuilds build/ and moves the addon out
    // of it, and the checkout's build/ is what its tests load meanwhile.
    const scratch = join(work, 'prebuild');
    mkdirSync(scratch);
    cpSync(join(root, 'package.json'), join(scratch, 'package.json'));
    cpSync(join(root, 'native'), join(scratch, 'native'), { recursive: true, filter: (src) => !src.startsWith(join(root, 'native', 'build')) });
    symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
    quiet(['run', 'prebuild'], scratch);
    rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
    cpSync(join(scratch, 'prebuilds'), join(root, 'prebuilds'), { recursive: true });
  }
  // From nothing: a file an older build left in dist/ would ship.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  quiet(['run', 'compile']);
  step('compiled dist/');
  // 3
  for (const target of targets) {
    const problem = checkPrebuild(root, target);
    if (problem) fail(problem);
    step(`prebuild ${target.file}`, target.here() ? `${target.summary}, loads here` : target.summary);
  }
  const extra = readdirSync(join(root, 'prebuilds'), { recursive: true }).filter((f) => String(f).endsWith('.node') && !targets.some((t) => t.file === `prebuilds/${f}`));
  if (extra.length > 0) fail(`prebuilds/ holds files no target names: ${extra.join(', ')}`);

  // 4
  mkdirSync(values.out, { recursive: true });
  const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', values.out]));
  const tarball = join(values.out, packed.filename);
  const files = packed.files.map((f) => f.path);
  const required = ['package.json', 'README.md', 'LICENSE', 'native/binding.gyp', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/cli.js', 'dist/supervisor.js', 'examples/hello.py', 'docs/guide.md', 'docs/api.md', ...targets.map((t) => t.file)];
  const missing = required.filter((f) => !files.includes(f));
  if (!files.some((f) => f.startsWith('native/') && f.endsWith('.cc'))) missing.push('native/*.cc');
  if (missing.length > 0) fail(`${packed.filename} lacks ${missing.join(', ')}`);
  // binding.gyp at the root would make npm, pnpm and yarn run `node-gyp rebuild` at install.
  const unwanted = files.filter((f) => /^(src|test|bench|build|native\/build|scripts|\.github|\.ci)\//.test(f) || f === 'binding.gyp' || f.endsWith('.tgz'));
  if (unwanted.length > 0) fail(`${packed.filename} holds files users do not run: ${unwanted.join(', ')}`);
  for (const map of files.filter((f) => f.endsWith('.map'))) {
    if ('sourcesContent' in JSON.parse(readFileSync(join(root, map), 'utf8'))) fail(`${map} embeds its sources (sourcesContent)`);
  }
  step(`packed ${packed.filename}`, `${kB(packed.size)} packed, ${kB(packed.unpackedSize)} unpacked, ${packed.entryCount} files`);
  return tarball;
}
