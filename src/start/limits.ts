// Resource limits of a start: resolved to numbers before anything is created, explained
// when the kernel refuses one (the child sets them before execve, docs/design.md).
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { StartError, describeError } from '../errors';
import type { Plan } from './options';
import { SystemError } from '../errors';
import { getrlimit, resolveRlimit, type Rlimit } from '../os/rlimit';

/**
 * Every limit with both values, a missing one from this process (the service inherits ours).
 * Raising a hard limit needs privilege: said here, before anything is started.
 */
export function resolveLimits(plan: Plan): Record<string, Rlimit> {
  const out: Record<string, Rlimit> = {};
  for (const [name, limit] of plan.rlimits) {
    const current = getrlimit(name);
    const { soft, hard } = resolveRlimit(name, limit, `rlimits.${name}`);
    if (hard > current.hard && process.geteuid?.() !== 0) {
      throw rlimitError(name, new SystemError(-osConstants.errno.EPERM, 'setrlimit', { target: name }), { soft, hard }, current);
    }
    out[name] = { soft, hard };
  }
  return out;
}

/** One line for a limit the kernel refused, with the fix. */
export function rlimitError(name: string, err: unknown, wanted: Rlimit, current: Rlimit = getrlimit(name)): StartError {
  let hint = '';
  if ((err as NodeJS.ErrnoException).code === 'EPERM' && wanted.hard > current.hard) {
    const root = process.geteuid?.() === 0;
    const nrOpen = name === 'nofile' ? readNrOpen() : null;
    hint =
      `: raising the hard limit from ${current.hard} to ${wanted.hard} needs CAP_SYS_RESOURCE` +
      `${nrOpen === null ? '' : ` and at most fs.nr_open (${nrOpen})`}; ask for at most ${root && nrOpen !== null ? nrOpen : current.hard}${root ? '' : ' or start as root'}`;
  }
  return new StartError(`rlimits.${name}: ${describeError(err)}${hint}`);
}

function readNrOpen(): number | null {
  try {
    return Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/** A service that never got ready ran under these limits: they may be why. */
export function limitsHint(plan: Plan): string {
  if (plan.rlimits.length === 0) return '';
  const shown = plan.rlimits.map(([name, l]) => `${name}=${l.soft ?? '-'}${l.hard === l.soft ? '' : `:${l.hard ?? '-'}`}`);
  return `; it ran with rlimits ${shown.join(' ')}, and a limit too low keeps Node.js from starting`;
}
