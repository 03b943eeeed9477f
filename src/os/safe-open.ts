// Opening a file on the user's behalf, usually as root, at a path that someone with fewer
// rights may control (a PID or log file in the service's own directory). The path may be a
// symbolic link (to /etc/shadow), a hard link (to a root-owned file, where
// fs.protected_hardlinks=0 or in a directory the service owns), a FIFO (an open(2) that waits
// forever) or a device. So: open with O_NOFOLLOW|O_NONBLOCK|O_NOCTTY (O_CLOEXEC is libuv's
// default), then fstat the descriptor, and accept only a regular file with exactly one link,
// or, where asked, a character device (/dev/null, /dev/console: only root can make one),
// before anything is truncated, written or chowned. A hard link cannot be told apart from the
// file it links to except by the link count; a file renamed onto the path cannot be told
// apart at all, which is why callers give away only what they created (O_EXCL).
import { closeSync, fstatSync, openSync, constants as fsConstants, type Stats } from 'node:fs';
import { native } from '../native/binding';
import { callNative } from '../errors';

/** Why a file was refused: a symbolic link, more than one link, its type, or its content. */
export type UnsafeKind = 'symlink' | 'hardlink' | 'type' | 'content';

export class UnsafeFileError extends Error {
  readonly code = 'ERR_UNSAFE_FILE';
  constructor(
    readonly path: string,
    /** What the path is: 'a symbolic link', 'a FIFO', 'a regular file with 2 links', ... */
    readonly found: string,
    readonly kind: UnsafeKind,
  ) {
    super(`'${path}' is ${found}`);
  }

  /** The refusal of a file whose fstat(2) is `st`. */
  static of(path: string, st: Stats): UnsafeFileError {
    return new UnsafeFileError(path, describeFile(st), st.isFile() ? 'hardlink' : st.isSymbolicLink() ? 'symlink' : 'type');
  }
}

export interface SafeFile {
  fd: number;
  stat: Stats;
  /** O_CREAT|O_EXCL made it. */
  created: boolean;
}

/** What a file is, for messages: 'a directory', 'a FIFO', 'a regular file with 2 links'... */
export function describeFile(st: Stats): string {
  if (st.isFile()) return st.nlink === 1 ? 'a regular file' : `a regular file with ${st.nlink} links`;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** A regular file with one link; a character device too when `devices`. */
export function isSafeFile(st: Stats, devices = false): boolean {
  return (st.isFile() && st.nlink === 1) || (devices && st.isCharacterDevice());
}

/**
 * Opens `path` with `flags` (O_CREAT creates it with `mode`, exclusively when `exclusive`)
 * and returns the descriptor once fstat(2) shows a file we may use. A character device
 * (`devices`) is returned in blocking mode, as it would be opened normally. Throws the
 * open(2) error (ELOOP for a symbolic link), or UnsafeFileError.
 */
export function openSafeFile(path: string, flags: number, options: { mode?: number; devices?: boolean; exclusive?: boolean } = {}): SafeFile {
  const { mode = 0o600, devices = false, exclusive = false } = options;
  const open = (how: number) => {
    try {
      // O_NOCTTY: a terminal device opened by a session leader (foreground under systemd)
      // would become its controlling terminal.
      return openSync(path, how | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY, mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Only a symbolic link gives ELOOP under O_NOFOLLOW (or a loop of them, which is one too).
      if (code === 'ELOOP') throw new UnsafeFileError(path, 'a symbolic link', 'symlink');
      // Opening a FIFO for writing with no reader fails at once under O_NONBLOCK.
      if (code === 'ENXIO') throw new UnsafeFileError(path, 'a FIFO, a socket or a device with nothing behind it', 'type');
      throw err;
    }
  };
  let fd: number;
  let created = false;
  try {
    fd = open(exclusive ? flags | fsConstants.O_CREAT | fsConstants.O_EXCL : flags);
    created = exclusive;
  } catch (err) {
    if (!exclusive || (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fd = open(flags & ~fsConstants.O_CREAT);
  }
  try {
    const stat = fstatSync(fd);
    if (!isSafeFile(stat, devices)) throw UnsafeFileError.of(path, stat);
    if (stat.isCharacterDevice()) callNative(() => native.setNonBlocking(fd, false));
    return { fd, stat, created };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
