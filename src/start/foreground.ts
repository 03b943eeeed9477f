// The start without a fork: foreground mode, and a program started by a service manager
// (systemd, or daemonkit's command) that handed it no plan. The launcher's list minus the
// fork (docs/design.md, "The start"): the same first steps, then enter, which does in this
// process what the launcher's child does before exec, in the same order.
import { dup2 } from '../os/fd';
import { setrlimit } from '../os/rlimit';
import { alreadyIs, enter } from './enter';
import { firstSteps, type StartContext } from './first-steps';
import { rlimitError } from './limits';
import type { Plan } from './options';
import { exitWith } from './report';
import { serve, type Daemon } from './service';
import { runSteps, type Step } from './steps';

const steps: Step<StartContext>[] = [
  ...firstSteps,
  {
    name: 'enter',
    run(ctx) {
      const { plan, logs } = ctx;
      process.umask(plan.umask);
      Object.assign(process.env, plan.env);
      for (const [name, limit] of Object.entries(ctx.rlimits)) {
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
  const ctx = { plan, forks: false, self: true, signalled: null, pidFile: null, bound: { fds: [], socketFiles: [] }, listeners: [] } as unknown as StartContext;
  const outcome = await runSteps(steps, ctx);
  if (!outcome.ok) return exitWith(plan.name, outcome.error, 1);
  return serve(
    {
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
      quiet: null,
      foreground: true,
    },
    ctx.listeners,
  );
}
