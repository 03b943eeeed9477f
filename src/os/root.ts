// chroot(2), and paths as seen from inside the new root.
import { native } from '../native/binding';
import { callNative, invalidType } from '../errors';

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
