// runService(): `daemonkit run`, the supervisor in the foreground, for systemd's Type=notify
// and for containers. The same first steps as every start (lock → check → logs → bind) run in
// this process; then this process supervises the program as the daemon's supervisor does.
// Under systemd it takes the sockets systemd activated for it (LISTEN_PID is this process)
// and hands them on with the program's own LISTEN_PID; it says READY=1 when the program is
// ready by its mode and STOPPING=1 on stop. It is a child subreaper (or PID 1), reaping
// the orphans that become its children.
import { describeError } from '../errors';
import { notify } from '../lifecycle/notify';
import { logEvent } from '../lifecycle/event-log';
import { dup2 } from '../os/fd';
import { setChildSubreaper } from '../os/prctl';
import { checkCanDrop, checkDirectories } from '../start/checks';
import { firstSteps, type StartContext } from '../start/first-steps';
import { resolveLimits } from '../start/limits';
import { runSteps, type Step } from '../start/steps';
import { reapOrphans } from '../supervisor/orphans';
import { supervise } from '../supervisor/supervise';
import { ensureDirectory } from './paths';
import { resolveService, type ServiceOptions } from './service-options';
import { failure, type StartResult } from './start';
import { dirname } from 'node:path';

/** How runService() ended: the exit code for this process, or a failed start as start() reports it. */
export type RunResult =
  | {
      /** It started, ran and has ended. */
      ok: true;
      /** 0 when stopped (or ended with a success code); 1 on a crash loop; else the program's. */
      code: number;
    }
  | Extract<StartResult, {
      /** It did not start: the failure as start() reports it. */
      ok: false;
    }>;

const steps: Step<StartContext>[] = [
  ...firstSteps.map((step) =>
    step.name !== 'check'
      ? step
      : {
          name: 'check',
          run(ctx: StartContext) {
            checkDirectories(ctx.plan);
            // The program drops, in its own fresh process: nothing of ours goes with it.
            checkCanDrop(ctx.plan, false);
            ctx.rlimits = resolveLimits(ctx.plan);
          },
        },
  ),
  {
    // With a log file, the program's output (and our event lines) go there from now on.
    name: 'output',
    run(ctx) {
      if (ctx.logs.stdout !== undefined) dup2(ctx.logs.stdout, 1);
      if (ctx.logs.stderr !== undefined) dup2(ctx.logs.stderr, 2);
    },
  },
];

/**
 * Runs a service in the foreground as `daemonkit run` does (for systemd's Type=notify and for
 * containers): this process supervises the program until it is stopped or ends for good.
 */
export async function runService(options: ServiceOptions): Promise<RunResult> {
  let resolved;
  try {
    resolved = resolveService(options, process.env, 'run');
    if (options.pidFile === undefined) ensureDirectory(dirname(resolved.plan.pidFile!), '--pid-file');
  } catch (err) {
    return failure(resolved?.plan.name ?? options.name ?? 'daemonkit', err, '');
  }
  const { plan, supervisor } = resolved;
  const ctx = { plan, forks: false, self: false, signalled: null, pidFile: null, bound: { fds: [], socketFiles: [] }, listeners: [], logs: {} } as unknown as StartContext;
  const outcome = await runSteps(steps, ctx);
  if (!outcome.ok) return failure(plan.name, outcome.error, '');
  try {
    setChildSubreaper(true);
  } catch {
    // not Linux: orphans go to init
  }
  let programPid: number | null = null;
  const stopReaping = reapOrphans((pid) => pid === programPid);
  // Signal handlers and SIGCHLD do not keep the event loop alive; this does, while it runs.
  const alive = setInterval(() => {}, 2 ** 31 - 1);
  const tell = (fields: Record<string, string>) => {
    try {
      notify(fields);
    } catch (err) {
      logEvent(`cannot notify systemd: ${describeError(err)}`);
    }
  };
  try {
    const code = await supervise(supervisor!, {
      listeners: ctx.listeners.map((l) => l.fd),
      lockFd: ctx.pidFile?.fd ?? null,
      tell,
      onProgram: (pid) => (programPid = pid),
    });
    return { ok: true, code };
  } finally {
    clearInterval(alive);
    stopReaping();
    ctx.pidFile?.remove();
  }
}

