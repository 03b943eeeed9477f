// Users and groups, looked up with the reentrant getpw*_r/getgr*_r calls (so NSS modules
// such as LDAP or systemd's dynamic users work), and the group list initgroups(3) would set.
import { native } from '../native/binding';
import { callNative, callNativeOr, invalidType } from '../errors';
import { validateId, validateNonEmptyString } from './validate';

/** A user's entry in the passwd database, as lookupUser() returns it. */
export interface UserInfo {
  /** The login name. */
  name: string;
  /** The user id. */
  uid: number;
  /** The id of the user's primary group. */
  gid: number;
  /** The home directory. */
  home: string;
  /** The login shell. */
  shell: string;
}

/** A group's entry in the group database, as lookupGroup() returns it. */
export interface GroupInfo {
  /** The group name. */
  name: string;
  /** The group id. */
  gid: number;
  /** The users listed as members (not those whose primary group it is). */
  members: string[];
}

/** What a process needs to become a user: the result of resolveCredentials(). */
export interface Credentials {
  /** The user's login name (also when it was given as a uid). */
  user: string;
  /** The user id. */
  uid: number;
  /** The group asked for, else the user's primary group. */
  gid: number;
  /** Supplementary groups, the primary one included. */
  groups: number[];
  /** The user's home directory (for HOME). */
  home: string;
}

/** A user or group that has no entry in its database; the message says how to check. */
export class UnknownIdentityError extends Error {
  /** Which of the two was not found. */
  readonly code: 'ERR_UNKNOWN_USER' | 'ERR_UNKNOWN_GROUP';
  /** The user or group `value` (a name or an id) was not found. */
  constructor(kind: 'user' | 'group', value: string | number) {
    const db = kind === 'user' ? 'passwd' : 'group';
    super(`unknown ${kind} '${value}': no entry in the ${db} database (check it with: getent ${db} ${value})`);
    this.code = kind === 'user' ? 'ERR_UNKNOWN_USER' : 'ERR_UNKNOWN_GROUP';
  }
}

// "1000" is an id, as in chown(1) and systemd's User=.
function key(value: unknown, name: string): string | number {
  if (typeof value === 'number') return validateId(value, name);
  if (typeof value === 'string') {
    validateNonEmptyString(value, name);
    return /^\d+$/.test(value) ? validateId(Number(value), name) : value;
  }
  throw invalidType(name, 'a name (string) or an id (number)', value);
}

// getpwnam(3) and getgrnam(3), ERRORS: "0 or ENOENT or ESRCH or EBADF or EPERM or ... The
// given name or uid was not found." POSIX specifies only the first (0 with a null result,
// which the addon returns as null); libcs and NSS modules answer with the others too, so a
// lookup that fails with one of them found nothing. Any other errno (EIO, EMFILE, ENOMEM,
// ERANGE...) is a failure of the lookup itself and is thrown.
const NOT_FOUND = ['ENOENT', 'ESRCH', 'EBADF', 'EPERM'] as const;

/** Looks up a user by name or uid; throws UnknownIdentityError when there is none. */
export function lookupUser(user: string | number): UserInfo {
  const k = key(user, 'user');
  const found = callNativeOr(() => native.lookupUser(k), NOT_FOUND, null);
  if (found === null) throw new UnknownIdentityError('user', user);
  return found;
}

/** Looks up a group by name or gid; throws UnknownIdentityError when there is none. */
export function lookupGroup(group: string | number): GroupInfo {
  const k = key(group, 'group');
  const found = callNativeOr(() => native.lookupGroup(k), NOT_FOUND, null);
  if (found === null) throw new UnknownIdentityError('group', group);
  return found;
}

/** getgrouplist(3): every group `user` belongs to, `gid` included. */
export function groupList(user: string, gid: number): number[] {
  validateNonEmptyString(user, 'user');
  validateId(gid, 'gid');
  return callNative(() => native.getgrouplist(user, gid));
}

/**
 * Resolves a user (and optionally a group other than the user's primary one) to the ids a
 * privilege drop needs. Supplementary groups are the user's own, never the caller's.
 */
export function resolveCredentials(user: string | number, group?: string | number): Credentials {
  const u = lookupUser(user);
  const gid = group === undefined ? u.gid : lookupGroup(group).gid;
  const groups = groupList(u.name, gid);
  return { user: u.name, uid: u.uid, gid, groups, home: u.home };
}
