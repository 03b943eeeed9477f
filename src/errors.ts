// One place builds every error daemonkit throws, in Node's own shapes:
// system errors carry code, errno (negative), syscall and path, with a message like
// "EACCES: permission denied, open '/run/x.pid'"; argument errors are TypeError/RangeError
// with Node's ERR_* codes and name the argument.
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap, getSystemErrorName, inspect } from 'node:util';
import type { NativeErrno } from './native/types';

/** What a SystemError is about, beyond the call that failed. */
export interface Subject {
  /** Set as err.path and quoted in the message. */
  path?: string;
  /** Quoted in the message only: an address, a resource name. */
  target?: string;
  /** Extra properties for the error (address, port, resource...). */
  props?: Record<string, unknown>;
}

/**
 * A failed system call, shaped like Node's own: `err.code === 'EACCES'`, a message such as
 * "EACCES: permission denied, open '/run/x.pid'", and extra properties (address, port,
 * resource, fd) where the failure is about one.
 */
export class SystemError extends Error {
  // `declare`: no class fields, so the properties exist only when set, in Node's order.
  /** The error number, negative as in Node (-13 for EACCES). */
  declare readonly errno: number;
  /** The error's name, such as 'ENOENT' or 'EADDRINUSE'. */
  declare readonly code: string;
  /** The system call (or step) that failed, such as 'open' or 'setresuid'. */
  declare readonly syscall: string;
  /** The file the call was about, when there is one. */
  declare readonly path?: string;

  /** An error for `errno` (negative) from `syscall`, about `subject`'s path or target. */
  constructor(errno: number, syscall: string, subject: Subject = {}) {
    const code = errnoName(errno);
    const description = errnoDescription(errno, code);
    const quoted = subject.path ?? subject.target;
    super(`${code}: ${description}, ${syscall}${quoted === undefined ? '' : ` '${quoted}'`}`);
    const self = this as { -readonly [K in keyof SystemError]: SystemError[K] };
    self.errno = errno;
    self.code = code;
    self.syscall = syscall;
    if (subject.path !== undefined) self.path = subject.path;
    if (subject.props) Object.assign(this, subject.props);
  }

  /** 'Error', like Node's own system errors, which print as "Error: ENOENT: ...". */
  override get name(): string {
    return 'Error';
  }
}

// libuv's table (which util uses) lacks a few errno values the kernel returns to us, such as
// ECHILD from waitpid(2): name them from os.constants.errno.
const EXTRA_DESCRIPTIONS: Record<string, string> = {
  ECHILD: 'no child processes',
  ENOLCK: 'no locks available',
  EDEADLK: 'resource deadlock avoided',
  ENOEXEC: 'exec format error',
};

function errnoName(errno: number): string {
  let name: string | undefined;
  try {
    name = getSystemErrorName(errno);
  } catch {
    name = undefined;
  }
  if (name === undefined || name.startsWith('Unknown')) {
    name = Object.entries(osConstants.errno).find(([, n]) => n === -errno)?.[0];
  }
  return name ?? `Unknown system error ${errno}`;
}

function errnoDescription(errno: number, code: string): string {
  return getSystemErrorMap().get(errno)?.[1] ?? EXTRA_DESCRIPTIONS[code] ?? 'unknown error';
}

function isNativeErrno(value: unknown): value is NativeErrno {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NativeErrno).errno === 'number' &&
    typeof (value as NativeErrno).syscall === 'string' &&
    !(value instanceof Error)
  );
}

type SubjectOf = Subject | ((record: NativeErrno) => Subject);

function systemError(e: unknown, subject: SubjectOf | undefined, caller: Function): unknown {
  if (!isNativeErrno(e)) return e;
  const s = typeof subject === 'function' ? subject(e) : subject;
  const err = new SystemError(e.errno, e.syscall, s);
  Error.captureStackTrace(err, caller);
  return err;
}

/** Runs a native call, turning its {errno, syscall} record into a SystemError. */
export function callNative<T>(fn: () => T, subject?: SubjectOf): T {
  try {
    return fn();
  } catch (e) {
    throw systemError(e, subject, callNative);
  }
}

/**
 * Runs a native call that may end in an errno the caller expects (a lock that is held, a
 * user that does not exist): `otherwise` when it fails with one of the errno names in
 * `expected`; any other failure throws as from callNative. The addon reports every errno;
 * which ones are answers rather than errors is decided by the caller.
 */
export function callNativeOr<T, U>(fn: () => T, expected: readonly string[], otherwise: U, subject?: SubjectOf): T | U {
  try {
    return fn();
  } catch (e) {
    if (isNativeErrno(e) && expected.includes(errnoName(e.errno))) return otherwise;
    throw systemError(e, subject, callNativeOr);
  }
}

type ArgError = (TypeError | RangeError) & { code: string };

function argError(Kind: typeof TypeError | typeof RangeError, code: string, message: string): ArgError {
  const err = new Kind(message) as ArgError;
  err.code = code;
  return err;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`;
  if (typeof value === 'function') return 'Received function';
  if (typeof value === 'object') return `Received ${inspect(value, { depth: 0, breakLength: Infinity })}`;
  return `Received type ${typeof value} (${inspect(value)})`;
}

/** The "name" argument must be of type T. */
export function invalidType(name: string, expected: string, value: unknown): ArgError {
  return argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. ${describe(value)}`);
}

/** The "name" argument is out of range. */
export function outOfRange(name: string, expected: string, value: unknown): ArgError {
  return argError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${expected}. Received ${inspect(value)}`,
  );
}

/** The "name" argument has a value that is not accepted, with the fix in `hint`. */
export function invalidValue(name: string, value: unknown, hint: string): ArgError {
  return argError(
    RangeError,
    'ERR_INVALID_ARG_VALUE',
    `The argument '${name}' ${hint}. Received ${inspect(value)}`,
  );
}

/**
 * A failed start: one line naming the input and the fix, and an exit code (1 failed to
 * start, 2 invalid options, 3 already running).
 */
export class DaemonizeError extends Error {
  /**
   * A failure the launcher reports as one line, then exits with `exitCode`.
   * @param exitCode 1: failed to start; 2: invalid options; 3: already running
   * @param bare the message is complete as it stands (no "name: " prefix is added by the
   *   caller: used for "x already running (pid N)")
   */
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 3,
    readonly bare = false,
  ) {
    super(message);
  }
}

/** A failure of the environment (files, ports, privileges): exit code 1. */
export class StartError extends DaemonizeError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** An invalid option: exit code 2. */
export class OptionError extends DaemonizeError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** One line for a person: the message without a stack, whatever was thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0];
  return String(err);
}
