// One line for a PID or log file that is refused, naming the option and the fix.
import { StartError } from '../errors';
import type { UnsafeFileError } from '../os/safe-open';

export function unsafeFile(what: 'PID file' | 'log file', option: string, err: UnsafeFileError): StartError {
  const fix = {
    symlink: 'links are never followed; give the real path',
    hardlink: 'hard links are never written through; remove the other links or choose another path',
    content: 'it is left as it is: remove it or choose another path',
    type: what === 'log file' ? 'give a regular file or a character device such as /dev/null' : 'remove it or choose another path',
  }[err.kind];
  return new StartError(`${what} '${err.path}' is ${err.found} (${option}); ${fix}`);
}
