// Loads the addon. This package makes it in one of two places, and only those are looked at:
//   native/build/Release/daemonkit.node
//                                  compiled by node-gyp (native/binding.gyp's one target):
//                                  in a checkout (`npm ci`), or by `npm run build-addon` in
//                                  an installed package on a platform with no prebuild;
//   native/build/Debug/daemonkit.node
//                                  the same, built with `node-gyp rebuild --debug`;
//   prebuilds/<platform>-<arch>/daemonkit.<libc>.node
//                                  shipped in the package by `npm run prebuild`
//                                  (prebuildify --napi --tag-libc: libc is musl on Alpine,
//                                  else glibc, macOS included).
// The package runs no install script (npm, pnpm and bun ask users to approve those), and its
// binding.gyp is not at the package root, where npm, pnpm and yarn would add `node-gyp
// rebuild` as one: where no prebuild fits, the error below says the one command that builds
// the addon.
// The first file that exists is loaded, in that order, so an addon compiled here wins over a
// prebuild that does not load here. node-gyp-build is not used: it honours more (environment
// overrides, other runtimes, prebuilds next to the node binary) that this package does not
// produce, and loading it cost ~2-3 ms per process, paid twice by a daemon (launcher and
// daemon) on its way to the first answered request (bench/import.mjs).
// __dirname is dist/ (bundled), one level below the package root, or src/native/ when the
// tests run the sources, two levels below.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeBinding } from './types';

const NAME = 'daemonkit';
const BUILD = 'build it with a C++17 compiler, make and python3: `npm explore daemonkit -- npm run build-addon` (in a checkout: `npm run build-addon`)';

/** The addon files this package can have, in the order they are tried. */
function addonCandidates(root: string): string[] {
  const libc = process.platform === 'linux' && existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  return [
    join(root, 'native', 'build', 'Release', `${NAME}.node`),
    join(root, 'native', 'build', 'Debug', `${NAME}.node`),
    join(root, 'prebuilds', `${process.platform}-${process.arch}`, `${NAME}.${libc}.node`),
  ];
}

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
  const candidates = addonCandidates(root);
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) {
    const err = new Error(
      `daemonkit has no native addon for ${process.platform}-${process.arch}; looked for:\n` +
        candidates.map((file) => `  ${file}\n`).join('') +
        `No prebuild fits this platform; ${BUILD}`,
    ) as Error & { code: string };
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  const module = { exports: {} as NativeBinding };
  try {
    process.dlopen(module, found);
  } catch (err) {
    // A prebuild for an older or newer system than this one (glibc older than 2.28, say).
    if (found === candidates[2]) (err as Error).message += `\nThe prebuilt addon does not load on this system; ${BUILD}`;
    throw err;
  }
  return module.exports;
}

export const native: NativeBinding = load();
