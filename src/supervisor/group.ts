// What is left of a run once its program (the leader of a session of its own) has ended: the
// rest of its process group. systemd's KillMode=control-group ends a unit's leftovers too:
// they would hold the PID file's lock and the sockets with nobody to stop them.
import { readdirSync, readFileSync } from 'node:fs';

/** Whether any process of group `pgid` is alive: zombies, which init reaps late, do not count. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false; // nobody, not even a zombie: the common case, without reading /proc
  }
  if (process.platform !== 'linux') return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // proc(5): pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      // ended meanwhile
    }
  }
  return false;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // nobody left
  }
}

/**
 * Waits until group `pgid` is gone, at most until `deadline` (there is no event for a group
 * emptying: its members are not our children); then SIGKILLs what is left. True if it had to.
 */
export async function endGroup(pgid: number, deadline: number): Promise<boolean> {
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) {
      signalGroup(pgid, 'SIGKILL');
      return true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
