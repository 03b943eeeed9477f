// Descriptors as such: close-on-exec, pipes, dup2(2).
import { native } from '../native/binding';
import { callNative } from '../errors';
import { validateBoolean, validateFd, validateInteger } from './validate';

/** Sets (default) or clears FD_CLOEXEC, e.g. to let a lock descriptor cross an execve. */
export function setCloseOnExec(fd: number, on = true): void {
  validateFd(fd, 'fd');
  validateBoolean(on, 'on');
  callNative(() => native.setCloexec(fd, on));
}

/** Whether FD_CLOEXEC is set on `fd`: true means the descriptor is closed by execve. */
export function isCloseOnExec(fd: number): boolean {
  validateFd(fd, 'fd');
  return callNative(() => native.getCloexec(fd));
}

/** pipe(2), both ends close-on-exec. Close them with fs.closeSync. */
export function pipe(): [read: number, write: number] {
  return callNative(() => native.pipe());
}

/** dup2(2): makes `newFd` refer to what `oldFd` refers to (e.g. stdout onto a log file). */
export function dup2(oldFd: number, newFd: number): void {
  validateInteger(oldFd, 'oldFd', 0, 2 ** 31 - 1);
  validateInteger(newFd, 'newFd', 0, 2 ** 31 - 1);
  callNative(() => native.dup2(oldFd, newFd));
}
