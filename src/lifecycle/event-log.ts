// Lifecycle events (started, ready, reloading, stopping, hook timings...) as one line each on
// stderr, which is the log file in a daemon and the journal under systemd:
//   2026-11-22T06:40:00.123Z myapp[1234]: stopping (SIGTERM)
// Synchronous writes, so the last lines before process.exit() are never lost.
import { writeSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { processState } from './state';

// Process-wide: it outlives a module reset (see state.ts).
const state = processState.eventLog;

/** The name in event lines (daemonize() sets it; default: the script's base name). */
export function setEventLogName(name: string): void {
  state.name = name;
}

function currentName(): string {
  if (state.name === undefined) {
    const script = process.argv[1] ?? process.argv0;
    state.name = basename(script, extname(script)) || 'node';
  }
  return state.name;
}

/**
 * Writes one event to stderr. Never throws: a closed stderr must not stop a shutdown. An
 * event of several lines (a stack) keeps the prefix on every line, so each line of the log
 * still reads `time name[pid]: text` and none can pass for an event of its own making.
 */
export function logEvent(text: string): void {
  const prefix = `${new Date().toISOString()} ${currentName()}[${process.pid}]: `;
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const body = lines.map((l, i) => `${prefix}${i === 0 ? '' : '  '}${l}\n`).join('');
  try {
    writeSync(2, body);
  } catch {
    // stderr closed or full (EAGAIN on a non-blocking pipe): the event is dropped, not fatal
  }
}

/** An error with its stack, for one event line (the stack follows on the next lines). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `non-error value thrown: ${String(err)}`;
}
