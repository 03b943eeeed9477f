// The end of a log file, and following it as it grows, across a rotation by rename (a new
// file at the path: read from its start) and by copytruncate (the same file, shorter: read
// from its new start). Woken by fs.watch (inotify) on the directory, never by a timer.
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * The last `lines` lines of `path` (reading at most its last 1 MiB), and the size they end
 * at: follow from there, not from the size when following starts, or a line written in
 * between is lost.
 */
export function lastLines(path: string, lines: number): {
  /** The lines, each ending in a newline. */
  text: string;
  /** The offset they end at: pass it to follow(). */
  size: number;
} {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const from = Math.max(0, size - 2 ** 20);
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    return { text: lines === 0 || text === '' ? '' : `${all.slice(-lines).join('\n')}\n`, size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Calls `out` with what is appended to `path` from offset `from` (default: its size now),
 * until the returned stop().
 */
export function follow(path: string, out: (text: string) => void, from?: number): () => void {
  let fd = openSync(path, 'r');
  let ino = fstatSync(fd).ino;
  let offset = Math.min(from ?? Infinity, fstatSync(fd).size);
  // The last bytes read, to recognize the file we were reading: after a copytruncate and a
  // write that outgrew our offset before we looked, the size alone would not tell.
  let seen = Buffer.alloc(0);
  const remember = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]).subarray(-64);
  };
  {
    const n = Math.min(64, offset);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, offset - n);
    remember(buf);
  }
  const drain = () => {
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) return;
      offset += n;
      remember(buf.subarray(0, n));
      out(buf.subarray(0, n).toString('utf8'));
    }
  };
  const rewritten = () => {
    if (fstatSync(fd).size < offset) return true;
    const now = Buffer.alloc(seen.length);
    readSync(fd, now, 0, now.length, offset - seen.length);
    return !now.equals(seen);
  };
  const check = (): void => {
    // copytruncate: the same file, shorter than what we read, or not what we read any more.
    if (rewritten()) {
      offset = 0;
      seen = Buffer.alloc(0);
    }
    drain();
    // Rotated by rename: what was written to the old file is read, then the new one.
    let now;
    try {
      now = statSync(path);
    } catch {
      return; // between the rename and the new file
    }
    if (now.ino !== ino) {
      closeSync(fd);
      fd = openSync(path, 'r');
      ino = now.ino;
      offset = 0;
      seen = Buffer.alloc(0);
      drain();
    }
  };
  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    if (file === null || file === basename(path)) check();
  });
  // Written between `from` and the watch: read now.
  check();
  return () => {
    watcher.close();
    closeSync(fd);
  };
}
