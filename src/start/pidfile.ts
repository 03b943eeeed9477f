// The PID file as a lock (docs/design.md, Facts 3): whoever holds flock(LOCK_EX) on it is the
// running instance; the number inside is only for people and scripts. Never judged by
// kill(pid, 0), never removed by anyone who does not hold the lock.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, readdirSync, readSync, statSync, unlinkSync, writeSync, constants as fsConstants } from 'node:fs';
import { openLockFile, tryLock } from '../os/flock';
import { isSafeFile, openSafeFile, UnsafeFileError } from '../os/safe-open';

/** What PidFile.acquire() found: the lock is ours, or another process holds it. */
export type PidFileAcquireResult =
  | {
      /** The lock is ours. */
      acquired: true;
      /** The held PID file: write the pid into it, close it to release the lock. */
      pidFile: PidFile;
      /** The pid a stale file held (its daemon died without removing it), or null. */
      stalePid: number | null;
      /** Whether this call created the file. */
      created: boolean;
    }
  | {
      /** Another process holds the lock. */
      acquired: false;
      /** The pid the file holds, if it holds one. */
      pid: number | null;
      /** The file's device and inode: a holder is a process with this file open. */
      dev: number;
      /** See dev. */
      ino: number;
    };

/**
 * A PID file held as a lock: while the descriptor is open, no other start can acquire it.
 * daemonize() uses one for its `pidFile` option; use it directly to guard any single instance.
 */
export class PidFile {
  // Once closed, the descriptor number may belong to another file: never touch it again.
  private closed = false;

  private constructor(
    /** Where the file is (changed by relocate() after a chroot). */
    public path: string,
    /** The descriptor that holds the lock; it must stay open while the lock is needed. */
    readonly fd: number,
  ) {}

  /** After chroot(2) the same file has another path: the one inside the new root. */
  relocate(path: string): void {
    this.path = path;
  }

  /**
   * Opens (creating, mode 0644) and locks `path` without waiting. A file that exists but is
   * not locked is stale: the previous holder died; its pid is reported and the file reused.
   * Anything but a regular file with one link is refused (UnsafeFileError) before it is
   * locked, truncated or written: a hard link planted there would make us write to (and
   * chown) the file it links to. Returns `{ acquired: true, pidFile, stalePid, created }`,
   * or `{ acquired: false, pid, dev, ino }` when another process holds the lock.
   */
  static acquire(path: string): PidFileAcquireResult {
    for (;;) {
      // Created here, or there already: only a file this start created may be given away.
      let fd: number;
      let created = true;
      try {
        fd = openLockFile(path, { exclusive: true, mode: 0o644 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        try {
          fd = openLockFile(path, { create: false });
        } catch (again) {
          // Removed between the two opens (its holder left and cleaned up): try again.
          if ((again as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw again;
        }
        created = false;
      }
      try {
        const st = fstatSync(fd);
        if (!isSafeFile(st)) throw UnsafeFileError.of(path, st);
        if (!tryLock(fd)) {
          const pid = pidIn(readAll(fd));
          closeSync(fd);
          return { acquired: false, pid, dev: st.dev, ino: st.ino };
        }
        // The holder we raced with may have unlinked the file after we opened it: then our
        // lock is on a dead inode and another launcher may lock a new file at `path`.
        let now;
        try {
          now = statSync(path);
        } catch {
          now = undefined;
        }
        if (now === undefined || now.ino !== st.ino || now.dev !== st.dev) {
          closeSync(fd);
          continue;
        }
        // We hold the lock, so nobody is writing: any number in it is the dead holder's.
        // Anything else is not a PID file (a file renamed onto the path, say): never
        // truncated.
        const text = st.size > 0 ? readAll(fd) : '';
        if (st.size > 32 || !/^\d*\n?$/.test(text)) throw new UnsafeFileError(path, 'a file that holds something other than a pid', 'content');
        const stalePid = /^\d+\n?$/.test(text) ? Number(text.trim()) : null;
        // Emptied at once: a concurrent launcher that loses the race must not read the dead
        // pid and report it as running; it waits for ours instead.
        if (st.size > 0) ftruncateSync(fd, 0);
        return { acquired: true, pidFile: new PidFile(path, fd), stalePid, created };
      } catch (err) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
        throw err;
      }
    }
  }

  /**
   * Whether `path` is held, and the pid it names, changing nothing: the file is neither
   * created nor truncated, and a lock taken to look is released at once. For status.
   */
  static probe(path: string): {
    /** Another open file description holds the lock: the instance is running. */
    held: boolean;
    /** The pid written in the file, null when there is none (or only part of one). */
    pid: number | null;
  } {
    const fd = openLockFile(path, { create: false });
    try {
      const st = fstatSync(fd);
      if (!isSafeFile(st)) throw UnsafeFileError.of(path, st);
      const pid = pidIn(readAll(fd));
      return { held: !tryLock(fd, { shared: true }), pid };
    } finally {
      closeSync(fd);
    }
  }

  /** Adopts an already locked descriptor (a daemon inheriting the launcher's lock). */
  static adopt(path: string, fd: number): PidFile {
    return new PidFile(path, fd);
  }

  /**
   * The pid written in `path`, or null when it is missing, empty, partly written, not a
   * number, or not a regular file with one link (never followed, never waited on).
   */
  static read(path: string): number | null {
    let fd: number;
    try {
      fd = openSafeFile(path, fsConstants.O_RDONLY).fd;
    } catch {
      return null;
    }
    try {
      return pidIn(readAll(fd));
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  }

  /** Replaces the contents with `pid\n` (fsynced unless `durable` is false). */
  write(pid: number, durable = true): void {
    ftruncateSync(this.fd, 0);
    writeSync(this.fd, `${pid}\n`, 0);
    if (durable) fsyncSync(this.fd);
  }

  /** True while `path` is still the file this lock is on. */
  isOurs(): boolean {
    try {
      const a = fstatSync(this.fd);
      const b = statSync(this.path);
      return a.ino === b.ino && a.dev === b.dev;
    } catch {
      return false;
    }
  }

  /**
   * Removes the file (we hold the lock, so it is ours), then releases the lock by closing.
   * When the directory does not let us unlink (after a privilege drop), empties it instead:
   * the next start finds it unlocked and replaces it.
   */
  remove(): void {
    if (this.closed) return;
    try {
      if (this.isOurs()) {
        try {
          unlinkSync(this.path);
        } catch {
          ftruncateSync(this.fd, 0);
        }
      }
    } finally {
      this.close();
    }
  }

  /** Releases the lock (for this descriptor) without touching the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** Waits until nobody holds the lock on `path` (or the file is gone). */
export async function waitForRelease(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let fd: number;
    try {
      fd = openLockFile(path, { create: false });
    } catch {
      return true;
    }
    const free = tryLock(fd);
    closeSync(fd);
    if (free) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Only a complete line counts: "12" may be the start of "1234\n" being written.
function pidIn(text: string): number | null {
  return /^\d+\n$/.test(text) ? Number(text) : null;
}

/** The first 64 bytes from offset 0: a PID file holds one short line. */
function readAll(fd: number): string {
  const buf = Buffer.alloc(64);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.toString('utf8', 0, n);
}

/** Whether process `pid` has the file (dev, ino) open; true when its fds cannot be read. */
export function holdsFile(pid: number, dev: number, ino: number): boolean {
  if (process.platform !== 'linux') return true;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Gone (ENOENT): not the holder. Not ours to read: believe it.
    return code !== 'ENOENT' && code !== 'ESRCH';
  }
  for (const fd of fds) {
    try {
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      if (st.dev === dev && st.ino === ino) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}
