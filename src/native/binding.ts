// Loads the addon: build/Release during development (or after a compile at install time),
// prebuilds/<platform>-<arch>/ when installed from the registry. node-gyp-build makes that
// choice. For the two files this package produces itself, the choice is made here first,
// without loading node-gyp-build: in an ESM program that means no CommonJS loader at all,
// and the two together cost ~7 ms per process, paid twice by a daemon (launcher and daemon)
// on its way to the first answered request (bench/start.mjs).
//
// The shortcut only takes a file node-gyp-build (4.x) would take first: build/Release (its
// first choice unless PREBUILDS_ONLY), else the prebuild tagged with this libc, which is the
// only one `npm run prebuild` puts in the directory. Anything that can change node-gyp-build's
// answer (its environment variables, Electron, a missing file) hands over to node-gyp-build.
// test/package.test.ts checks that the installed package maps the file node-gyp-build picks.
// __dirname is dist/ (bundled), one level below the package root, or src/native/ (the tests
// run the sources), two levels below; the ESM
// build defines it (scripts/bundle.mjs).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeBinding } from './types';

const NAME = 'daemonkit';

function load(): NativeBinding {
  if (process.platform === 'win32') {
    const err = new Error(
      'daemonkit does not support Windows (win32): it needs fork(2), setsid(2) and flock(2); ' +
        'run the program under a Windows service manager instead',
    ) as Error & { code: string };
    err.code = 'ERR_UNSUPPORTED_PLATFORM';
    throw err;
  }
  const root = existsSync(join(__dirname, '..', 'package.json')) ? join(__dirname, '..') : join(__dirname, '..', '..');
  const known = knownAddon(root);
  if (known !== null) {
    const module = { exports: {} as NativeBinding };
    process.dlopen(module, known);
    return module.exports;
  }
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeBinding;
  return nodeGypBuild(root);
}

/** The file node-gyp-build would load, when that is certain without it; else null. */
function knownAddon(root: string): string | null {
  const env = process.env;
  const steered = ['DAEMONKIT_PREBUILD', 'npm_config_arch', 'npm_config_platform', 'LIBC', 'ARM_VERSION'].some((k) => env[k]);
  if (steered || process.versions.electron !== undefined || (process.versions as Record<string, string | undefined>).nw !== undefined) return null;
  if (!env.PREBUILDS_ONLY) {
    // node-gyp-build takes the first .node file readdir(3) lists there: certain only when
    // ours is the only one (binding.gyp has one target; a stale or extra file is possible).
    const release = join(root, 'build', 'Release');
    const addons = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node')) : [];
    if (addons.length === 1 && addons[0] === `${NAME}.node`) return join(release, addons[0]);
    // A Debug build, another file, or a failed build: node-gyp-build looks in build/ first.
    if (existsSync(join(root, 'build'))) return null;
  }
  const libc = process.platform === 'linux' && existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`, `${NAME}.${libc}.node`);
  return existsSync(prebuilt) ? prebuilt : null;
}

export const native: NativeBinding = load();
