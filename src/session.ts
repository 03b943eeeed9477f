// Sessions and process groups of this process (setsid(2), getsid(2), getpgid(2)).
import { native } from './binding';
import { callNative, invalidType } from './errors';
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

/** pipe(2), both ends close-on-exec. Close them with fs.closeSync. */
export function pipe(): [read: number, write: number] {
  return callNative(() => native.pipe());
}

/** chroot(2) then chdir("/"). Needs root (CAP_SYS_CHROOT). */
export function chroot(path: string): void {
  if (typeof path !== 'string' || path === '') throw invalidType('path', 'a non-empty string', path);
  callNative(() => native.chroot(path), { path });
  process.chdir('/');
}

/**
 * Internal: `path` as a process chrooted to `root` sees it, or null when it is outside the
 * new root and cannot be reached from there.
 */
export function insideRoot(path: string, root: string): string | null {
  const prefix = root.replace(/\/+$/, '');
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : null;
}

/** dup2(2): makes `newFd` refer to what `oldFd` refers to (e.g. stdout onto a log file). */
export function dup2(oldFd: number, newFd: number): void {
  validateInteger(oldFd, 'oldFd', 0, 2 ** 31 - 1);
  validateInteger(newFd, 'newFd', 0, 2 ** 31 - 1);
  callNative(() => native.dup2(oldFd, newFd));
}
