// The steps every start takes, forked or not (docs/design.md, "The start"): lock → check →
// logs → bind. The launcher follows them with capture → notify → spawn → wait; a start in
// this process (foreground, or under a service manager) with enter, which does here what the
// launcher's child does before exec.
import type { Rlimit } from '../os/rlimit';
import { say } from './report';
import { listenFds } from './activation';
import { checkCanDrop, checkDirectories, checkReexecutable } from './checks';
import { resolveLimits } from './limits';
import { bindListeners, unbind, type Bound } from './listeners';
import { lockPidFile } from './lock';
import type { Plan } from './options';
import { closeLogs, openLogs, removeEmptyLogs, type LogFiles } from './output';
import type { PidFile } from './pidfile';
import { addressOf, handedOverListeners, type Listener } from './service';
import type { Step } from './steps';
import { StartError } from '../errors';
import { closeSync } from 'node:fs';

export interface StartContext {
  plan: Plan;
  /** The launcher (the service is another process), or a start in this process. */
  forks: boolean;
  /** The service is this program (daemonize()), not any command. */
  self: boolean;
  /** A signal that asked the start to stop. */
  signalled: NodeJS.Signals | null;
  rlimits: Record<string, Rlimit>;
  pidFile: PidFile | null;
  logs: LogFiles;
  bound: Bound;
  /** The sockets of a start in this process (bound, or from socket activation). */
  listeners: Listener[];
}

export const firstSteps: Step<StartContext>[] = [
  {
    // The lock first: when another instance runs, that is the answer, whatever else is wrong.
    name: 'lock',
    async run(ctx) {
      const pidFile = await lockPidFile(ctx.plan, () => ctx.signalled);
      ctx.pidFile = pidFile;
      // In this process, the pid is known now: written before the limits, so that an
      // rlimits.fsize of 0 cannot keep it out. The launcher writes the service's after spawn.
      if (!ctx.forks) pidFile?.write(process.pid);
      return { release: () => (ctx.forks ? pidFile?.close() : undefined), undo: () => pidFile?.remove() };
    },
  },
  {
    name: 'check',
    run(ctx) {
      if (ctx.forks && ctx.self) checkReexecutable();
      if (ctx.forks && !ctx.self && ctx.plan.chroot !== undefined) {
        throw new StartError('chroot applies to daemonize() only: a program is started outside of any new root; remove it');
      }
      checkDirectories(ctx.plan);
      checkCanDrop(ctx.plan, !ctx.forks);
      ctx.rlimits = resolveLimits(ctx.plan);
    },
  },
  {
    name: 'logs',
    run(ctx) {
      ctx.logs = openLogs(ctx.plan);
      // Our copies: the service has its own (forked), or they are on 1 and 2 (enter).
      return { release: () => closeLogs(ctx.logs), undo: () => removeEmptyLogs(ctx.logs) };
    },
  },
  {
    name: 'bind',
    run(ctx) {
      const { plan } = ctx;
      // A service manager that activated sockets for this very process bound them already.
      const activated = ctx.forks ? [] : listenFds();
      if (activated.length > 0) {
        if (plan.listen.length > 0 && activated.length !== plan.listen.length) {
          say(2, `${plan.name}: warning: systemd passed ${activated.length} socket(s) (LISTEN_FDS) and listen has ${plan.listen.length}; daemon.listeners are systemd's\n`);
        }
        ctx.listeners = handedOverListeners(activated);
        return;
      }
      const bound = bindListeners(plan);
      ctx.bound = bound;
      ctx.listeners = bound.fds.map((fd) => ({ ...addressOf(fd), fd }));
      return { release: () => (ctx.forks ? bound.fds.forEach(closeQuietly) : undefined), undo: () => unbind(bound) };
    },
  },
];

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
