// Resource limits by their lower-case names ('nofile', 'core', ...), as prlimit(1) and
// systemd's Limit*= settings spell them. Infinity means RLIM_INFINITY.
import { native } from './binding';
import { callNative, invalidType, invalidValue, outOfRange } from './errors';

export interface Rlimit {
  soft: number;
  hard: number;
}

/** The resource names this platform has. */
export const rlimitNames: readonly string[] = Object.freeze(Object.keys(native.rlimitResources).sort());

function resourceOf(name: unknown): number {
  if (typeof name !== 'string') throw invalidType('name', 'of type string', name);
  const id = native.rlimitResources[name];
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

export function getrlimit(name: string): Rlimit {
  const [soft, hard] = callNative(() => native.getrlimit(resourceOf(name)), { target: name, props: { resource: name } });
  return { soft, hard };
}

/**
 * Sets a limit. A number sets both values; in an object, a missing value keeps the current
 * one. Raising the hard limit needs privilege (EPERM otherwise).
 */
export function setrlimit(name: string, limit: number | Partial<Rlimit>): void {
  const resource = resourceOf(name);
  let soft: number;
  let hard: number;
  if (typeof limit === 'number') {
    soft = hard = validateLimit(limit, 'limit');
  } else if (typeof limit === 'object' && limit !== null) {
    const current = getrlimit(name);
    hard = limit.hard === undefined ? current.hard : validateLimit(limit.hard, 'limit.hard');
    soft = limit.soft === undefined ? Math.min(current.soft, hard) : validateLimit(limit.soft, 'limit.soft');
  } else {
    throw invalidType('limit', 'a number or an object { soft, hard }', limit);
  }
  if (soft > hard) {
    throw outOfRange('limit.soft', `at most the hard limit (${hard}) of '${name}'`, soft);
  }
  callNative(() => native.setrlimit(resource, soft, hard), { target: name, props: { resource: name } });
}
