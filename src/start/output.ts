// The service's output: log files opened for it before it starts (step "logs"), and what it
// wrote before it was ready, shown on the terminal when the start fails (step "report").
// With no log file, a service of daemonize() writes into a pipe to the launcher until it is
// ready, then to /dev/null: the lines before a failure are never lost (docs/design.md).
import { closeSync, fchownSync, fstatSync, lstatSync, readSync, unlinkSync, constants as fsConstants } from 'node:fs';
import type { Socket } from 'node:net';
import { StartError, describeError } from '../errors';
import type { Plan } from './options';
import { openSafeFile, UnsafeFileError } from '../os/safe-open';
import { pipe } from '../os/fd';
import { fixFor } from './hints';
import { unsafeFile } from './unsafe-file';

export interface LogFiles {
  stdout?: number;
  stderr?: number;
  /** Sizes when opened: the tail shown on failure is what this start wrote. */
  sizes: Map<string, number>;
  /** The files this start created, removed again by a failed start that wrote nothing. */
  created?: { path: string; fd: number; dev: number; ino: number }[];
}

/**
 * Opens the log files (appending; created 0640), refusing links, FIFOs and anything but a
 * regular file with one link or a character device such as /dev/null. A file this start
 * created is given to the service user, so it can reopen its logs after a rotation; one that
 * was there is used as it is (it may be a root file renamed onto the path by whoever can
 * write its directory), and a device is never given away.
 */
export function openLogs(plan: Plan): LogFiles {
  const logs: LogFiles = { sizes: new Map() };
  const opened: number[] = [];
  const open = (path: string | undefined, option: string) => {
    if (path === undefined) return undefined;
    let file;
    try {
      file = openSafeFile(path, fsConstants.O_WRONLY | fsConstants.O_APPEND, { mode: 0o640, devices: true, exclusive: true });
    } catch (err) {
      if (err instanceof UnsafeFileError) throw unsafeFile('log file', option, err);
      throw new StartError(`cannot open log file (${option}): ${describeError(err)}; ${fixFor(err, 'logFile')}`);
    }
    opened.push(file.fd);
    logs.sizes.set(path, file.stat.size);
    if (file.created) (logs.created ??= []).push({ path, fd: file.fd, dev: file.stat.dev, ino: file.stat.ino });
    const creds = plan.credentials;
    if (creds !== undefined && file.created) fchownSync(file.fd, creds.uid, creds.gid);
    return file.fd;
  };
  try {
    logs.stdout = open(plan.stdoutPath, plan.stdoutOption);
    logs.stderr = plan.stderrPath === plan.stdoutPath ? logs.stdout : open(plan.stderrPath, 'stderr');
  } catch (err) {
    for (const fd of opened) closeSync(fd);
    throw err;
  }
  return logs;
}

/**
 * Undoes a failed start's log files: each one it created and nothing wrote to goes, if the
 * path is still that very file. One with the program's last words stays, for the operator.
 */
export function removeEmptyLogs(logs: LogFiles): void {
  for (const c of logs.created ?? []) {
    try {
      const st = lstatSync(c.path);
      if (st.dev === c.dev && st.ino === c.ino && fstatSync(c.fd).size === 0) unlinkSync(c.path);
    } catch {
      // gone already
    }
  }
}

export function closeLogs(logs: LogFiles): void {
  for (const fd of new Set([logs.stdout, logs.stderr])) if (fd !== undefined) closeSync(fd);
}

/** At most the last `lines` lines of `text`, each shown inert on an operator's terminal. */
function tailLines(text: string, lines: number): string[] {
  const trimmed = text.trimEnd();
  if (trimmed === '') return [];
  return trimmed
    .split('\n')
    .slice(-lines)
    .map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?'));
}

function shownTail(where: string, lines: string[]): string {
  return lines.length === 0 ? '' : `last lines of ${where}:\n${lines.map((l) => `  | ${l}`).join('\n')}\n`;
}

/** What this start appended to the log file (at most its last 64 KiB), as shown on failure. */
export function logTail(plan: Plan, sizes: Map<string, number>, lines = 20): string {
  const path = plan.stderrPath ?? plan.stdoutPath;
  if (path === undefined) return '';
  try {
    const start = sizes.get(path) ?? 0;
    // The service (maybe another user) could have replaced the file by now: no link, no FIFO.
    const { fd } = openSafeFile(path, fsConstants.O_RDONLY);
    let text: string;
    try {
      const end = fstatSync(fd).size;
      const from = Math.max(start, end - 65536);
      const buf = Buffer.alloc(Math.max(0, end - from));
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
    return shownTail(path, tailLines(text, lines));
  } catch {
    return '';
  }
}

/**
 * A pipe that is the service's stdout and stderr until it is ready: the launcher keeps the
 * last 64 KiB it read. The service points both at /dev/null before it says READY=1, so the
 * pipe has no writer left when the launcher exits.
 */
export class OutputCapture {
  readonly writeFd: number;
  private readonly reader: Socket;
  private text = '';
  private readonly ended: Promise<void>;

  constructor() {
    const [r, w] = pipe();
    this.writeFd = w;
    // node:net only when there is output to capture: it costs ~2 ms to load.
    const net = require('node:net') as typeof import('node:net');
    this.reader = new net.Socket({ fd: r, readable: true, writable: false });
    this.reader.setEncoding('utf8');
    this.reader.on('data', (chunk: string) => {
      this.text = (this.text + chunk).slice(-65536);
    });
    this.ended = new Promise((resolve) => {
      this.reader.once('close', () => resolve());
      this.reader.once('end', () => resolve());
      this.reader.once('error', () => resolve());
    });
  }

  /** Our copy of the write end goes once the service has its own. */
  closeWriteEnd(): void {
    try {
      closeSync(this.writeFd);
    } catch {
      // already closed
    }
  }

  /** Everything the stopped service wrote (its last writer is gone, or soon will be). */
  async drain(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ended, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  close(): void {
    this.reader.destroy();
  }

  tail(lines = 20): string {
    return shownTail('its output', tailLines(this.text, lines));
  }
}
