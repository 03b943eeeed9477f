// The hooks a program registers for its lifecycle, kept in named lists.
import { invalidType } from '../errors';
import { validateString } from '../os/validate';

/**
 * A step of the graceful shutdown, given why it happens: a signal's name such as 'SIGTERM',
 * 'uncaught exception', or requestShutdown()'s reason. A returned promise is awaited, within the shutdown deadline.
 */
export type ShutdownHook = (reason: string) => unknown;
/** A step of a reload (SIGHUP or reload()): reread configuration; a returned promise is awaited. */
export type ReloadHook = () => unknown;

/**
 * Validates and appends a named hook; returns the
 * function that removes it. Unnamed hooks are named after the function, or by position.
 */
export function addHook<F extends (...args: never[]) => unknown>(list: { fn: F; name: string }[], fn: F, name: unknown): () => void {
  if (typeof fn !== 'function') throw invalidType('fn', 'a function', fn);
  const hook = { fn, name: name !== undefined ? validateString(name, 'name') : fn.name || `#${list.length + 1}` };
  list.push(hook);
  return () => {
    const i = list.indexOf(hook);
    if (i >= 0) list.splice(i, 1);
  };
}
