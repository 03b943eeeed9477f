// Sessions and process groups of this process (setsid(2), getsid(2), getpgid(2)).
import { native } from '../native/binding';
import { callNative } from '../errors';
import { validateInteger } from './validate';

/** Makes this process a session leader; EPERM when it already leads a process group. */
export function setsid(): number {
  return callNative(() => native.setsid());
}

/** Session id of `pid` (default: this process). */
export function getsid(pid = 0): number {
  validateInteger(pid, 'pid', 0, 2 ** 31 - 1);
  return callNative(() => native.getsid(pid));
}

/** Process group id of `pid` (default: this process). */
export function getpgid(pid = 0): number {
  validateInteger(pid, 'pid', 0, 2 ** 31 - 1);
  return callNative(() => native.getpgid(pid));
}
