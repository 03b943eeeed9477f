// Checks made before anything is created: whether the program can be re-run, whether the
// directories exist, whether the user can be become (step "check" of docs/design.md).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonizeError, StartError } from '../errors';
import type { Plan } from './options';
import { ioUringInUse } from '../os/privileges';

/** The service is `node` re-run with the same script: a program read from stdin cannot be. */
export function checkReexecutable(): void {
  const script = process.argv[1];
  const evaluated = process.execArgv.some((a) => /^(-e|--eval|-p|--print)(=|$)/.test(a));
  if (!evaluated && (script === undefined || script === '-' || !existsSync(script))) {
    throw new DaemonizeError('daemonize() needs the program in a script file: the daemon re-runs `node <script>`, and a program read from stdin cannot be re-run', 2);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function checkDirectories(plan: Plan): void {
  if (plan.chroot !== undefined && !isDirectory(plan.chroot)) {
    throw new StartError(`chroot '${plan.chroot}' is not an existing directory (chroot); create it or choose another`);
  }
  // With chroot, cwd is a directory inside the new root.
  if (!isDirectory(plan.chroot === undefined ? plan.cwd : join(plan.chroot, plan.cwd))) {
    const inside = plan.chroot === undefined ? '' : ` inside chroot '${plan.chroot}'`;
    throw new StartError(`cwd '${plan.cwd}' is not an existing directory${inside} (cwd); create it or choose another`);
  }
}

/**
 * Whether the user option can be honoured. When this very process drops (foreground, or a
 * service that chroots), it must not hold io_uring rings set up as root (CVE-2024-22017); a
 * service the launcher starts as the user never ran as root and holds none.
 */
export function checkCanDrop(plan: Plan, inThisProcess: boolean): void {
  const creds = plan.credentials;
  if (creds === undefined) return;
  const root = process.geteuid?.() === 0;
  const already = creds.uid === process.geteuid?.() && creds.gid === process.getegid?.();
  if (!root && !already) {
    throw new StartError(`user: only root can become '${creds.user}' (uid ${creds.uid}); start as root or remove the user option`);
  }
  const uring = inThisProcess && !already ? ioUringInUse() : null;
  if (uring !== null) {
    throw new StartError(
      `cannot drop privileges to ${creds.user} (user) in this process: ${uring.why}, and rings set up as root keep root's credentials after the drop (CVE-2024-22017); ${uring.fix}`,
    );
  }
}
