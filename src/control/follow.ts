// The end of a log file, and following it as it grows, across a rotation by rename (a new
// file at the path: read from its start) and by copytruncate (the same file, shorter: read
// from its new start). Woken by fs.watch (inotify) on the directory, never by a timer.
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** The last `lines` lines of `path` (reading at most its last 1 MiB). */
export function lastLines(path: string, lines: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const from = Math.max(0, size - 2 ** 20);
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    return lines === 0 || text === '' ? '' : `${all.slice(-lines).join('\n')}\n`;
  } finally {
    closeSync(fd);
  }
}

/** Calls `out` with what is appended to `path` from now on, until the returned stop(). */
export function follow(path: string, out: (text: string) => void): () => void {
  let fd = openSync(path, 'r');
  let ino = fstatSync(fd).ino;
  let offset = fstatSync(fd).size;
  const drain = () => {
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) return;
      offset += n;
      out(buf.subarray(0, n).toString('utf8'));
    }
  };
  const check = () => {
    // copytruncate: the same file, now shorter than what we read.
    if (fstatSync(fd).size < offset) offset = 0;
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
      drain();
    }
  };
  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    if (file === null || file === basename(path)) check();
  });
  return () => {
    watcher.close();
    closeSync(fd);
  };
}
