// What importing daemonkit costs a process, per build layout, in one interleaved run: the
// numbers that decide scripts/bundle.mjs's layout and src/binding.ts's addon lookup.
//
//   node bench/import.mjs [--runs N] [--esm-bundle-from REF]
//
// Two copies of the package are built in a temporary directory from this checkout's src/,
// differing only in the bundle script:
//   (a) ESM bundle:    scripts/bundle.mjs as of REF (default: the last commit that built a
//                      separate ESM bundle), where dist/index.mjs is a second esbuild bundle;
//   (b) CJS re-export: this checkout's scripts/bundle.mjs, where dist/index.mjs re-exports
//                      the CommonJS bundle dist/index.js.
// Each timed process imports the package by name and touches `daemonize`, then exits:
//   (a) and (b) an ES module program (import), (c) a CommonJS program (require) against
//   (b)'s dist/index.js, (d) an ES module program importing (b)'s dist/index.js by path (what
//   a re-export by `import` would cost: Node scans a CommonJS file for its export names);
//   `node -e 0` is the bare boot they all pay.
// The addon lookup is timed the same way, in CommonJS programs that load the addon file
// node-gyp-build picks: by process.dlopen on that path, or by require('node-gyp-build')(root).
// Every process is spawned and waited for (spawnSync); variants take turns, in a rotating
// order, N times each. A suite runs without NODE_EXTRA_CA_CERTS, and again with it when it is
// set (it makes every Node start slower). Medians, differences and ratios are printed;
// nothing is asserted: the machines this runs on are shared.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    'esm-bundle-from': { type: 'string', default: 'b2d8f7372abada4ef0b27a1f2b6c8f0c666a7d66' },
  },
});
const runs = Number(values.runs);
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'daemonkit-import-'));

// A copy of the package built by `bundleScript`, sharing the checkout's node_modules and
// native/build/ (the addon), with the timed programs inside it so `daemonkit` resolves to it by name.
function buildPackage(name, bundleScript) {
  const pkg = join(dir, name);
  mkdirSync(join(pkg, 'scripts'), { recursive: true });
  cpSync(join(root, 'src'), join(pkg, 'src'), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) copyFileSync(join(root, file), join(pkg, file));
  writeFileSync(join(pkg, 'scripts', 'bundle.mjs'), bundleScript);
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  symlinkSync(join(root, 'native'), join(pkg, 'native')); // the addon, where the library looks
  symlinkSync(join(root, 'native', 'build'), join(pkg, 'build')); // and where node-gyp-build does
  execFileSync(process.execPath, [join(pkg, 'scripts', 'bundle.mjs')], { stdio: 'inherit' });
  const touch = "if (typeof daemonize !== 'function') throw new Error('no daemonize');\n";
  writeFileSync(join(pkg, 'esm.mjs'), `import { daemonize } from 'daemonkit';\n${touch}`);
  writeFileSync(join(pkg, 'cjs.cjs'), `const { daemonize } = require('daemonkit');\n${touch}`);
  // What (b) would cost if dist/index.mjs imported ./index.js instead of require()ing it.
  writeFileSync(join(pkg, 'esm-import-cjs.mjs'), `import lib from './dist/index.js';\nconst { daemonize } = lib;\n${touch}`);
  return pkg;
}

const oldScript = execFileSync('git', ['show', `${values['esm-bundle-from']}:scripts/bundle.mjs`], { cwd: root, encoding: 'utf8' });
const esmBundle = buildPackage('esm-bundle', oldScript);
const reexport = buildPackage('cjs-reexport', readFileSync(join(root, 'scripts', 'bundle.mjs'), 'utf8'));

const addon = createRequire(import.meta.url)('node-gyp-build').path(reexport);
const checkAddon = "if (typeof addon.spawn !== 'function') throw new Error('not the addon');\n";
writeFileSync(
  join(reexport, 'addon-dlopen.cjs'),
  `const m = { exports: {} };\nprocess.dlopen(m, ${JSON.stringify(addon)});\nconst addon = m.exports;\n${checkAddon}`,
);
writeFileSync(join(reexport, 'addon-ngb.cjs'), `const addon = require('node-gyp-build')(${JSON.stringify(reexport)});\n${checkAddon}`);

const variants = {
  'node -e 0': ['-e', '0'],
  '(a) import, ESM bundle': [join(esmBundle, 'esm.mjs')],
  '(b) import, CJS re-export': [join(reexport, 'esm.mjs')],
  '(c) require, CJS bundle': [join(reexport, 'cjs.cjs')],
  '(d) import of dist/index.js': [join(reexport, 'esm-import-cjs.mjs')],
  'addon by process.dlopen': [join(reexport, 'addon-dlopen.cjs')],
  'addon by node-gyp-build': [join(reexport, 'addon-ngb.cjs')],
};

function once(args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function suite(label, env) {
  const names = Object.keys(variants);
  const times = Object.fromEntries(names.map((k) => [k, []]));
  for (const name of names) once(variants[name], env); // page cache, not timed
  for (let i = 0; i < runs; i++) {
    // Rotated, so no variant always runs right after the same one.
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      times[name].push(once(variants[name], env));
    }
  }
  const m = Object.fromEntries(names.map((k) => [k, median(times[k])]));
  const boot = m['node -e 0'];
  console.log(`\n${label} (${runs} runs each, interleaved; medians)`);
  for (const name of names) {
    const over = m[name] - boot;
    const extra = name === 'node -e 0' ? '' : `   ${over < 0 ? '-' : '+'}${Math.abs(over).toFixed(1).padStart(5)} ms over node -e 0`;
    console.log(`  ${name.padEnd(28)} ${m[name].toFixed(1).padStart(6)} ms${extra}`);
  }
  // Difference of the medians, and the median of the run-by-run differences (each pair ran
  // in the same round, under about the same load).
  const compare = (x, y, what) => {
    const paired = median(times[x].map((t, i) => t - times[y][i]));
    console.log(
      `  ${what.padEnd(38)} ${(m[x] - m[y]).toFixed(1).padStart(5)} ms per process (paired ${paired.toFixed(1)}), ratio ${(m[x] / m[y]).toFixed(3)}`,
    );
  };
  compare('(b) import, CJS re-export', '(a) import, ESM bundle', '(b) - (a), what the ESM bundle saves:');
  compare('(c) require, CJS bundle', '(a) import, ESM bundle', '(c) - (a):');
  compare('(c) require, CJS bundle', '(b) import, CJS re-export', '(c) - (b):');
  compare('(d) import of dist/index.js', '(a) import, ESM bundle', '(d) - (a):');
  compare('addon by node-gyp-build', 'addon by process.dlopen', 'node-gyp-build - process.dlopen:');
}

try {
  const size = (pkg) => `${(statSync(join(pkg, 'dist', 'index.mjs')).size / 1024).toFixed(1)} KB`;
  console.log(`node ${process.version}; dist/index.mjs: (a) ${size(esmBundle)} from ${values['esm-bundle-from']}, (b) ${size(reexport)}`);
  console.log(`addon: ${addon}`);
  const without = { ...process.env };
  delete without.NODE_EXTRA_CA_CERTS;
  suite('without NODE_EXTRA_CA_CERTS', without);
  if (process.env.NODE_EXTRA_CA_CERTS) suite(`with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}`, process.env);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
