// The launcher: one start of one program as a service, as a list of steps (docs/design.md,
// "The start"): lock → check → logs → bind → capture → notify → spawn → wait. daemonize()
// runs it with this very program as the command; the daemonkit command with any program.
// It speaks systemd's protocol to the service and nothing else: sockets as LISTEN_FDS from
// fd 3 with LISTEN_PID, readiness as READY=1 on NOTIFY_SOCKET (or the program's exit).
import { StartError, describeError } from '../errors';
import type { Plan } from './options';
import { isChildSubreaper, setChildSubreaper } from '../os/prctl';
import { alreadyIs } from './enter';
import type { Rlimit } from '../os/rlimit';
import { spawnDaemon, spawnSupervisor } from '../os/spawn';
import { activationEnv } from './activation';
import { ChildWatch } from './child-watch';
import { SERVICE_ENV, type ServicePlan } from './handoff';
import { rlimitError } from './limits';
import { NotifySocket } from './notify-socket';
import { logTail, OutputCapture } from './output';
import { firstSteps, type StartContext } from './first-steps';
import { runSteps, type Step } from './steps';
import { waitForPort, waitForReady } from './wait-ready';
import { FIRST_RUN_ENV, firstRunEnv, killOrphanedProgram, PROGRAM_PID_ENV, programSpawnOptions, type ProgramCommand } from './supervised-start';

export interface Command {
  file: string;
  args: readonly string[];
  argv0?: string;
  /** The environment before the plan's env and the protocol's variables are added. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Ready when it says READY=1 on NOTIFY_SOCKET, as soon as execve succeeded, or when this
   * TCP address accepts a connection.
   */
  ready: 'notify' | 'exec' | { host: string; port: number };
  /** This program under daemonize(): the plan travels with it (DAEMONKIT_SERVICE). */
  service?: boolean;
  /**
   * The command is a supervisor: its program's first run is started with it, by the same
   * spawn, and handed to it (docs/design.md, "The supervised start").
   */
  program?: ProgramCommand;
}

/** A failed start names the step it failed at, and what the program wrote before it did. */
export type LaunchResult = { ok: true; pid: number } | { ok: false; step: string; error: unknown; tail: string };

interface Context extends StartContext {
  command: Command;
  interrupted: Promise<NodeJS.Signals>;
  capture: OutputCapture | null;
  notify: NotifySocket | null;
  /** The NOTIFY_SOCKET of a supervisor's first run, handed to the supervisor. */
  programNotify: NotifySocket | null;
  child: ChildWatch | null;
  /** A supervisor's first program. */
  programPid: number | null;
  /** MAINPID= from the service, when it named another process as the main one. */
  mainPid: number | null;
}

/** Whether the service drops privileges itself: only after a chroot, which needs root. */
const serviceDrops = (plan: Plan) => plan.credentials !== undefined && plan.chroot !== undefined;

const steps: Step<Context>[] = [
  ...(firstSteps as Step<Context>[]),
  {
    // Output before ready is never lost: without a log file, daemonize()'s service writes to
    // us until it is ready (docs/design.md, "Output").
    name: 'capture',
    run(ctx) {
      if (!ctx.command.service || (ctx.logs.stdout !== undefined && ctx.logs.stderr !== undefined)) return;
      const capture = new OutputCapture();
      ctx.capture = capture;
      return { release: () => capture.close(), undo: () => capture.drain() };
    },
  },
  {
    name: 'notify',
    run(ctx) {
      if (ctx.command.ready !== 'notify') return;
      // A path socket (not Linux) must be reachable after the service's chroot: inside it.
      const notify = NotifySocket.open(ctx.plan.credentials, ctx.self ? ctx.plan.chroot : undefined);
      ctx.notify = notify;
      // Bound before the program starts, so that its READY=1 cannot come too early.
      const program = ctx.command.program?.ready === 'notify' ? NotifySocket.open(ctx.command.program.credentials) : null;
      ctx.programNotify = program;
      return {
        release: () => {
          notify.close();
          program?.handOver();
        },
        undo: () => program?.close(),
      };
    },
  },
  {
    name: 'spawn',
    async run(ctx) {
      const child = spawnService(ctx);
      try {
        // Written here, once: a concurrent launcher names this pid in "already running", and
        // the service never writes it (it may not be root, nor have room under rlimits.fsize).
        ctx.pidFile?.write(child.pid);
      } catch (err) {
        await child.kill();
        child.stop();
        throw new StartError(`failed to start: cannot write the PID file: ${describeError(err)}`);
      }
      return {
        release: () => child.stop(),
        undo: async () => {
          await child.kill();
          if (ctx.programPid !== null) await killOrphanedProgram(ctx.programPid);
        },
      };
    },
  },
  {
    name: 'wait',
    async run(ctx) {
      const { ready } = ctx.command;
      if (ready === 'exec') return;
      if (typeof ready === 'object') return waitForPort(ctx.plan, ctx.child!, ready, ctx.interrupted);
      ctx.mainPid = await waitForReady(ctx.plan, ctx.child!, ctx.notify!, ctx.interrupted);
      // MAINPID=: the service says another process of its session is the main one (it forked).
      if (ctx.mainPid !== null && ctx.mainPid !== ctx.child!.pid) ctx.pidFile?.write(ctx.mainPid);
    },
  },
];

/** Runs the start; never exits the process. */
export async function launch(plan: Plan, command: Command): Promise<LaunchResult> {
  const ctx = { plan, command, forks: true, self: command.service === true, signalled: null, capture: null, notify: null, programNotify: null, child: null, programPid: null, mainPid: null } as unknown as Context;
  // Before anything is created: a signal during the start is handled once the step in
  // progress is done, by undoing it all, instead of killing us half-way.
  // Handled until the start is over, undo included: a second Ctrl-C must not kill us while
  // we take back what the first one interrupted.
  const handlers: [NodeJS.Signals, () => void][] = [];
  ctx.interrupted = new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const on = () => {
        ctx.signalled ??= signal;
        resolve(signal);
      };
      handlers.push([signal, on]);
      process.on(signal, on);
    }
  });
  // The service becomes our child once the middle process exits, so we learn how it ended
  // (Linux; elsewhere we see only that it is gone). Put back as it was afterwards: a
  // long-lived caller should not adopt every orphan of its descendants.
  let wasSubreaper: boolean | null = null;
  try {
    wasSubreaper = isChildSubreaper();
    if (!wasSubreaper) setChildSubreaper(true);
  } catch {
    // not Linux
  }
  try {
    const outcome = await runSteps(steps, ctx);
    if (outcome.ok) return { ok: true, pid: ctx.mainPid ?? ctx.child!.pid };
    const tail = (ctx.logs ? logTail(plan, ctx.logs.sizes) : '') + (ctx.capture?.tail() ?? '');
    return { ok: false, step: outcome.step, error: outcome.error, tail };
  } finally {
    for (const [signal, on] of handlers) process.removeListener(signal, on);
    if (wasSubreaper === false) setChildSubreaper(false);
  }
}

function spawnService(ctx: Context): ChildWatch {
  const { plan, command, bound, notify } = ctx;
  // Already that user (not root): there is nothing to drop, and setgroups(2) would be EPERM.
  const dropHere = plan.credentials !== undefined && !serviceDrops(plan) && !alreadyIs(plan.credentials);
  const fds = [...bound.fds];
  const lockFd = ctx.pidFile === null ? null : 3 + fds.length;
  if (ctx.pidFile !== null) fds.push(ctx.pidFile.fd);
  const env: Record<string, string | undefined> = { ...command.env, ...plan.env };
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', SERVICE_ENV, PROGRAM_PID_ENV, FIRST_RUN_ENV]) delete env[k];
  // A service that starts as root and drops would have libuv set up io_uring rings with
  // root's credentials, which they keep after the drop (CVE-2024-22017).
  if (plan.credentials !== undefined) delete env.UV_USE_IO_URING;
  const handsOver = bound.fds.length > 0 || command.service === true;
  if (handsOver) Object.assign(env, activationEnv(bound.fds.length));
  if (notify !== null) env.NOTIFY_SOCKET = notify.address;
  if (command.service) {
    const nofile = ctx.rlimits.nofile;
    const handoff: ServicePlan = {
      name: plan.name,
      pidFile: plan.pidFile ?? null,
      lockFd,
      socketFiles: bound.socketFiles,
      stdoutPath: plan.stdoutPath,
      stderrPath: plan.stderrPath,
      capturedFds: ctx.capture === null ? [] : [1, 2].filter((fd) => (fd === 1 ? ctx.logs.stdout : ctx.logs.stderr) === undefined),
      chroot: plan.chroot,
      cwd: plan.cwd,
      user: plan.credentials?.user,
      drop: serviceDrops(plan) ? { ...plan.credentials!, noNewPrivileges: plan.noNewPrivileges } : undefined,
      nofile: nofile !== undefined && nofile.soft !== nofile.hard ? nofile : undefined,
      shutdownTimeout: plan.shutdownTimeout,
      errorExitCode: plan.errorExitCode,
    };
    env[SERVICE_ENV] = JSON.stringify(handoff);
  }
  const output = ctx.capture?.writeFd;
  const options = {
    args: command.args,
    argv0: command.argv0,
    env,
    // daemonize()'s program enters its cwd itself: its own relative paths (node -r ./x)
    // are the launcher's until it runs.
    cwd: command.service ? undefined : plan.cwd,
    umask: plan.umask,
    stdout: ctx.logs.stdout ?? output,
    stderr: ctx.logs.stderr ?? output,
    fds,
    rlimits: ctx.rlimits,
    credentials: dropHere ? plan.credentials : undefined,
    noNewPrivileges: plan.noNewPrivileges && !serviceDrops(plan),
    listenPid: handsOver,
  };
  let pid: number;
  try {
    if (command.program === undefined) {
      pid = spawnDaemon(command.file, options);
    } else {
      // The first run: the same fds and output as the supervisor's, its own everything else.
      const program = command.program;
      const runOptions = programSpawnOptions(program, { sockets: bound.fds.length, fds: [...fds], stdout: options.stdout, stderr: options.stderr, notifyAddress: ctx.programNotify?.address ?? null });
      if (ctx.programNotify !== null) fds.push(ctx.programNotify.fd);
      Object.assign(env, firstRunEnv(ctx.programNotify, ctx.programNotify === null ? null : 3 + fds.length - 1));
      const started = spawnSupervisor(command.file, options, { file: program.file, options: runOptions }, PROGRAM_PID_ENV);
      pid = started.pid;
      ctx.programPid = started.programPid;
    }
  } catch (err) {
    throw spawnError(plan, err, ctx.rlimits);
  } finally {
    ctx.capture?.closeWriteEnd();
  }
  ctx.child = new ChildWatch(pid);
  return ctx.child;
}

function spawnError(plan: Plan, err: unknown, rlimits: Record<string, Rlimit>): StartError {
  const { syscall, resource, program } = err as { syscall?: string; resource?: unknown; program?: boolean };
  // As the supervisor says it when a later run cannot start.
  if (program === true) return new StartError(`failed to start: cannot start the program: ${describeError(err)}`);
  if (syscall === 'setrlimit' && typeof resource === 'string') return rlimitError(resource, err, rlimits[resource]);
  if (syscall !== undefined && ['setgroups', 'setresgid', 'setresuid', 'verify'].includes(syscall)) {
    return new StartError(`cannot drop privileges to ${plan.credentials?.user} (user): ${describeError(err)}`);
  }
  return new StartError(`cannot start the daemon: ${describeError(err)}`);
}
