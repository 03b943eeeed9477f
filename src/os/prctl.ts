// Linux prctl(2) settings for daemons and supervisors. Elsewhere each throws ENOSYS.
import { constants } from 'node:os';
import { native } from '../native/binding';
import { callNative, invalidValue } from '../errors';
import { validateBoolean } from './validate';

/**
 * PR_SET_CHILD_SUBREAPER: orphaned descendants are reparented to this process instead of
 * init, so a supervisor (or a test) sees its daemons' exits and must reap them.
 */
export function setChildSubreaper(on = true): void {
  validateBoolean(on, 'on');
  callNative(() => native.setChildSubreaper(on));
}

/** PR_GET_CHILD_SUBREAPER: whether setChildSubreaper() is in effect for this process. */
export function isChildSubreaper(): boolean {
  return callNative(() => native.getChildSubreaper());
}

/**
 * PR_SET_PDEATHSIG: the signal this process gets when its parent thread exits (0 or null to
 * clear). Cleared by fork, kept across execve except for set-id programs.
 */
export function setParentDeathSignal(signal: NodeJS.Signals | number | null): void {
  let number: number | undefined;
  if (signal === null || signal === 0) number = 0;
  else if (typeof signal === 'number' && Number.isInteger(signal) && signal > 0 && signal < 65) number = signal;
  else if (typeof signal === 'string') number = (constants.signals as Record<string, number>)[signal];
  if (number === undefined) throw invalidValue('signal', signal, "must be a signal name like 'SIGTERM', a number, or null");
  const n = number;
  callNative(() => native.setParentDeathSignal(n));
}

/** PR_GET_PDEATHSIG: the parent death signal's number, 0 when none is set. */
export function getParentDeathSignal(): number {
  return callNative(() => native.getParentDeathSignal());
}

/** PR_SET_NO_NEW_PRIVS: from now on execve cannot grant privileges (set-id bits, file caps). */
export function setNoNewPrivileges(): void {
  callNative(() => native.setNoNewPrivs());
}

/** PR_GET_NO_NEW_PRIVS: whether setNoNewPrivileges() (or a parent) has set it; it is inherited and never cleared. */
export function hasNoNewPrivileges(): boolean {
  return callNative(() => native.getNoNewPrivs());
}
