// Resource limits by their lower-case names ('nofile', 'core', ...), as prlimit(1) and
// systemd's Limit*= settings spell them. Infinity means RLIM_INFINITY.
import { native } from '../native/binding';
import { callNative, invalidType, invalidValue, outOfRange } from '../errors';

/** The two values of a resource limit; Infinity is RLIM_INFINITY (no limit). */
export interface Rlimit {
  /** The limit the kernel enforces; a process may raise it up to `hard`. */
  soft: number;
  /** The ceiling for `soft`: lowering it is for good, raising it needs privilege. */
  hard: number;
}

/** The resource names this platform has. */
export const rlimitNames: readonly string[] = Object.freeze(Object.keys(native.rlimitResources).sort());

function resourceOf(name: unknown): number {
  if (typeof name !== 'string') throw invalidType('name', 'of type string', name);
  // rlimitNames, not the map itself: a plain object answers 'constructor' or 'toString'
  // with a function, which the addon reads as resource 0 (RLIMIT_CPU on Linux).
  const id = rlimitNames.includes(name) ? native.rlimitResources[name] : undefined;
  if (id === undefined) {
    throw invalidValue('name', name, `is not a resource limit on ${process.platform}; use one of ${rlimitNames.join(', ')}`);
  }
  return id;
}

function validateLimit(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number (Infinity for unlimited)', value);
  if (value !== Infinity && (!Number.isSafeInteger(value) || value < 0)) {
    throw outOfRange(name, 'an integer >= 0 or Infinity', value);
  }
  return value;
}

/** This process's limit on resource `name` (one of rlimitNames), e.g. `getrlimit('nofile')`. */
export function getrlimit(name: string): Rlimit {
  const [soft, hard] = callNative(() => native.getrlimit(resourceOf(name)), { target: name, props: { resource: name } });
  return { soft, hard };
}

/**
 * Internal: the resource id and both values of `limit` for resource `name`. A number sets
 * both; in an object a missing value is this process's current one (a missing soft value is
 * capped at the hard one). `label` names the argument in errors.
 */
export function resolveRlimit(name: string, limit: unknown, label = 'limit'): { id: number; soft: number; hard: number } {
  const id = resourceOf(name);
  let soft: number;
  let hard: number;
  if (typeof limit === 'number') {
    soft = hard = validateLimit(limit, label);
  } else if (typeof limit === 'object' && limit !== null) {
    const wanted = limit as Partial<Rlimit>;
    const current = wanted.hard === undefined || wanted.soft === undefined ? getrlimit(name) : null;
    hard = wanted.hard === undefined ? current!.hard : validateLimit(wanted.hard, `${label}.hard`);
    soft = wanted.soft === undefined ? Math.min(current!.soft, hard) : validateLimit(wanted.soft, `${label}.soft`);
  } else {
    throw invalidType(label, 'a number or an object { soft, hard }', limit);
  }
  if (soft > hard) {
    throw outOfRange(`${label}.soft`, `at most the hard limit (${hard}) of '${name}'`, soft);
  }
  return { id, soft, hard };
}

/**
 * Sets a limit. A number sets both values; in an object, a missing value keeps the current
 * one. Raising the hard limit needs privilege (EPERM otherwise).
 */
export function setrlimit(name: string, limit: number | Partial<Rlimit>): void {
  const { id, soft, hard } = resolveRlimit(name, limit);
  callNative(() => native.setrlimit(id, soft, hard), { target: name, props: { resource: name } });
}
