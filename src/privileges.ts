// Dropping root for good: supplementary groups, then gid, then uid (after setresuid the
// others can no longer be changed), then proof that it cannot be undone. The libc wrappers
// apply each change to every thread of the process, Node's own included.
import { writeSync } from 'node:fs';
import { native } from './binding';
import { callNative, invalidType } from './errors';
import { validateBoolean, validateId, validateObject } from './validate';

export interface DropPrivilegesOptions {
  uid: number;
  gid: number;
  /** The complete supplementary group list (see resolveCredentials()). */
  groups: readonly number[];
  /** Also set PR_SET_NO_NEW_PRIVS (Linux): execve can never grant privileges again. */
  noNewPrivileges?: boolean;
}

export interface ProcessIdentity {
  /** Real, effective, saved. */
  uid: [number, number, number];
  gid: [number, number, number];
  groups: number[];
}

export class PrivilegeDropError extends Error {
  readonly code = 'ERR_PRIVILEGE_DROP_UNVERIFIED';
}

export function processIdentity(): ProcessIdentity {
  return {
    uid: callNative(() => native.getresuid()),
    gid: callNative(() => native.getresgid()),
    groups: process.getgroups!(),
  };
}

/**
 * Becomes (uid, gid, groups) irrevocably, then verifies: real, effective and saved ids all
 * match, the group list is exactly the one asked for, and setuid(0) and seteuid(0) fail.
 * Throws a SystemError naming the call that failed, or PrivilegeDropError when the ids are
 * not what was asked for. If root could be regained, the process is killed (SIGKILL) at once.
 */
export function dropPrivileges(options: DropPrivilegesOptions): void {
  validateObject(options, 'options');
  const uid = validateId(options.uid, 'options.uid');
  const gid = validateId(options.gid, 'options.gid');
  if (!Array.isArray(options.groups)) throw invalidType('options.groups', 'an array of group ids', options.groups);
  const groups = options.groups.map((g, i) => validateId(g, `options.groups[${i}]`));
  const noNewPrivileges =
    options.noNewPrivileges === undefined ? false : validateBoolean(options.noNewPrivileges, 'options.noNewPrivileges');

  // Never keep the caller's (root's) supplementary groups: python-daemon and pm2 do.
  callNative(() => native.setgroups(groups));
  callNative(() => native.setresgid(gid, gid, gid));
  callNative(() => native.setresuid(uid, uid, uid));
  if (noNewPrivileges) callNative(() => native.setNoNewPrivs());

  verify(uid, gid, groups);
}

function verify(uid: number, gid: number, groups: number[]): void {
  const now = processIdentity();
  const fail = (what: string): never => {
    throw new PrivilegeDropError(`privilege drop to uid ${uid} gid ${gid} not verified: ${what}`);
  };
  if (now.uid.some((id) => id !== uid)) fail(`uids are ${now.uid.join('/')} (real/effective/saved)`);
  if (now.gid.some((id) => id !== gid)) fail(`gids are ${now.gid.join('/')} (real/effective/saved)`);
  const want = [...new Set(groups)].sort((a, b) => a - b);
  const have = [...new Set(now.groups)].sort((a, b) => a - b);
  if (want.join() !== have.join()) fail(`supplementary groups are [${have}], expected [${want}]`);
  if (uid === 0) return; // nothing was dropped, so nothing can be regained
  for (const [name, call] of [
    ['setuid', () => native.setuid(0)],
    ['seteuid', () => native.seteuid(0)],
  ] as const) {
    let regained = true;
    try {
      call();
    } catch {
      regained = false;
    }
    if (regained) {
      // We are root again: fail closed. No handler, hook or caller's catch may run as root
      // believing the drop happened.
      writeSync(2, `daemonkit: privilege drop to uid ${uid} not verified: ${name}(0) succeeded; killing the process\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
}
