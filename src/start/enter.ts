// What still has to happen inside the service itself, in this order: the chroot (it needs
// root and must come after the program is loaded), the drop, then the working directory. A
// service the launcher started as its user does only the working directory (docs/design.md,
// "Where each step runs").
import { closeSync } from 'node:fs';
import { StartError, describeError } from '../errors';
import type { PidFile } from './pidfile';
import { setNoNewPrivileges } from '../os/prctl';
import type { Credentials } from '../os/identity';
import { dropPrivilegesWith, openProcSelf, processIdentity } from '../os/privileges';
import { chroot as chrootTo, insideRoot } from '../os/root';

export interface Entry {
  chroot?: string;
  cwd: string;
  /** Drop to these ids here (after the chroot); undefined: nothing to drop. */
  drop?: { user?: string; uid: number; gid: number; groups: number[] };
  /** PR_SET_NO_NEW_PRIVS here (the launcher sets it before exec when it dropped). */
  noNewPrivileges: boolean;
}

export function enter(entry: Entry, pidFile: PidFile | null): void {
  const { drop } = entry;
  // The drop is checked and verified through /proc, which a chroot hides: open it first, and
  // close it as soon as the drop is verified (it leads out of the new root).
  const procSelf = drop !== undefined && entry.chroot !== undefined ? openProcSelf() : null;
  try {
    if (entry.chroot !== undefined) {
      try {
        chrootTo(entry.chroot);
      } catch (err) {
        throw new StartError(`cannot chroot (chroot): ${describeError(err)}`);
      }
      // The same PID file, seen from inside the new root (options checked it is inside).
      if (pidFile !== null) pidFile.relocate(insideRoot(pidFile.path, entry.chroot)!);
    }
    if (drop !== undefined) {
      try {
        dropPrivilegesWith({ uid: drop.uid, gid: drop.gid, groups: drop.groups, noNewPrivileges: entry.noNewPrivileges }, procSelf);
      } catch (err) {
        throw new StartError(`cannot drop privileges to ${drop.user ?? drop.uid} (user): ${describeError(err)}`);
      }
    } else if (entry.noNewPrivileges) {
      setNoNewPrivileges();
    }
    // After the drop, as the launcher's child does: only a directory the user may enter.
    try {
      process.chdir(entry.cwd);
    } catch (err) {
      throw new StartError(`cannot enter cwd (cwd): ${describeError(err)}`);
    }
  } finally {
    if (procSelf !== null) closeSync(procSelf);
  }
}

/** This (non-root) process has exactly these ids and groups: nothing to drop. */
export function alreadyIs(creds: Credentials): boolean {
  if (process.geteuid?.() === 0) return false;
  const me = processIdentity();
  const sorted = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b).join(',');
  return me.uid.every((id) => id === creds.uid) && me.gid.every((id) => id === creds.gid) && sorted(me.groups) === sorted(creds.groups);
}
