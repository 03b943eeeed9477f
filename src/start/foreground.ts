// The start without a fork: foreground mode, and a program started by a service manager
// (systemd, or daemonkit's command) that did not hand it a plan. The same steps as the
// launcher's (docs/design.md, "The start"), with the child's part done in this process.
import type { Plan } from './options';
import type { PidFile } from './pidfile';
import { setrlimit } from '../os/rlimit';
import { dup2 } from '../os/fd';
import { listenFds } from './activation';
import { checkCanDrop, checkDirectories } from './checks';
import { alreadyIs, enter } from './enter';
import { resolveLimits, rlimitError } from './limits';
import { bindListeners, unbind, type Bound } from './listeners';
import { lockPidFile } from './lock';
import { closeLogs, openLogs, type LogFiles } from './output';
import { exitWith, say } from './report';
import { addressOf, serve, type Daemon, type Listener, type Service } from './service';
import { runSteps, type Step } from './steps';

interface Context {
  plan: Plan;
  pidFile: PidFile | null;
  logs: LogFiles;
  bound: Bound;
  listeners: Listener[];
}

const steps: Step<Context>[] = [
  {
    name: 'lock',
    async run(ctx) {
      const pidFile = await lockPidFile(ctx.plan);
      ctx.pidFile = pidFile;
      // Before the limits: an rlimits.fsize of 0 must not keep the pid from being written.
      pidFile?.write(process.pid);
      return { undo: () => pidFile?.remove() };
    },
  },
  {
    name: 'check',
    run(ctx) {
      checkDirectories(ctx.plan);
      checkCanDrop(ctx.plan, true);
    },
  },
  {
    name: 'logs',
    run(ctx) {
      ctx.logs = openLogs(ctx.plan);
      return { release: () => closeLogs(ctx.logs) };
    },
  },
  {
    name: 'bind',
    run(ctx) {
      const { plan } = ctx;
      const activated = listenFds();
      if (activated.length > 0 && plan.listen.length > 0 && activated.length !== plan.listen.length) {
        say(2, `${plan.name}: warning: systemd passed ${activated.length} socket(s) (LISTEN_FDS) and listen has ${plan.listen.length}; daemon.listeners are systemd's\n`);
      }
      if (activated.length > 0) {
        ctx.bound = { fds: [], socketFiles: [] };
        ctx.listeners = activated.map(({ fd, name }) => ({ ...addressOf(fd), fd, ...(name === undefined ? {} : { name }) }));
        return;
      }
      const bound = bindListeners(plan);
      ctx.bound = bound;
      ctx.listeners = bound.fds.map((fd) => ({ ...addressOf(fd), fd }));
      return { undo: () => unbind(bound) };
    },
  },
  {
    // What the launcher's child does before exec, here in this process, in the same order.
    name: 'enter',
    run(ctx) {
      const { plan, logs } = ctx;
      process.umask(plan.umask);
      Object.assign(process.env, plan.env);
      for (const [name, limit] of Object.entries(resolveLimits(plan))) {
        try {
          setrlimit(name, limit);
        } catch (err) {
          throw rlimitError(name, err, limit);
        }
      }
      const creds = plan.credentials;
      const drop = creds !== undefined && !alreadyIs(creds) ? creds : undefined;
      enter({ chroot: plan.chroot, cwd: plan.cwd, drop, noNewPrivileges: plan.noNewPrivileges }, ctx.pidFile);
      // Last: until here a failure is told on the terminal, not in the log.
      if (logs.stdout !== undefined) dup2(logs.stdout, 1);
      if (logs.stderr !== undefined) dup2(logs.stderr, 2);
    },
  },
];

export async function runInForeground(plan: Plan): Promise<Daemon> {
  const ctx = { plan, pidFile: null, bound: { fds: [], socketFiles: [] }, listeners: [] } as unknown as Context;
  const outcome = await runSteps(steps, ctx);
  if (!outcome.ok) return exitWith(plan.name, outcome.error, 1);
  const service: Service = {
    name: plan.name,
    pidFile: ctx.pidFile,
    socketFiles: ctx.bound.socketFiles,
    stdoutPath: plan.stdoutPath,
    stderrPath: plan.stderrPath,
    chroot: plan.chroot,
    user: plan.credentials?.user,
    shutdownTimeout: plan.shutdownTimeout,
    errorExitCode: plan.errorExitCode,
    launched: false,
    quietFd: null,
    foreground: true,
  };
  return serve(service, ctx.listeners);
}
