// Loads the addon: build/Release during development, prebuilds/<platform>-<arch> when
// installed. The directory above this file is the package root from both src/ and dist/.
import { join } from 'node:path';
import type { NativeBinding } from './native';

function load(): NativeBinding {
  if (process.platform === 'win32') {
    const err = new Error(
      'daemonkit does not support Windows (win32): it needs fork(2), setsid(2) and flock(2); ' +
        'run the program under a Windows service manager instead',
    ) as Error & { code: string };
    err.code = 'ERR_UNSUPPORTED_PLATFORM';
    throw err;
  }
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeBinding;
  return nodeGypBuild(join(__dirname, '..'));
}

export const native: NativeBinding = load();
