// Step "wait": until the service says READY=1 on its NOTIFY_SOCKET, or ends, or takes too
// long, or the launcher is interrupted (docs/design.md, "Launcher and service").
import { getSystemErrorName } from 'node:util';
import { StartError } from '../errors';
import { getsid } from '../os/session';
import type { ChildWatch } from './child-watch';
import { limitsHint } from './limits';
import type { NotifySocket } from './notify-socket';
import type { Plan } from './options';

/**
 * Until READY=1, the program's exit, the ready timeout or a signal; throws unless ready.
 * Returns the MAINPID= the service named, if any.
 */
export async function waitForReady(plan: Plan, child: ChildWatch, notify: NotifySocket, interrupted: Promise<NodeJS.Signals>): Promise<number | null> {
  const pid = child.pid;
  const ctx = { mainPid: null as number | null, lastStatus: null as string | null, errno: null as number | null };
  // A process of the service's session: the service, a helper (systemd-notify from its shell
  // script), or a process it forked to be its main one. Nothing outside it can say for it.
  const inSession = (other: number) => {
    try {
      return getsid(other) === getsid(pid);
    } catch {
      return false; // gone
    }
  };
  // null: the kernel does not name senders here (not Linux), and the socket's mode keeps
  // everyone but the service's user out (notify-socket.ts).
  const ours = (sender: number | null) => sender === null || sender === pid || inSession(sender);
  type Outcome = 'ready' | 'exited' | 'timeout' | NodeJS.Signals;
  let ready = false;
  let deadline = Date.now() + plan.readyTimeout;
  let timer: NodeJS.Timeout | undefined;
  let outcome: Outcome;
  try {
    outcome = await new Promise<Outcome>((resolve) => {
      // One timer at a time, at most 2^31-1 ms (Node's limit) ahead: re-armed until the
      // deadline, which EXTEND_TIMEOUT_USEC may have moved.
      const arm = () => {
        timer = setTimeout(() => (Date.now() >= deadline ? resolve('timeout') : arm()), Math.min(2 ** 31 - 1, Math.max(1, deadline - Date.now())));
      };
      arm();
      notify.listen(ours, (n) => {
        if (n.status !== undefined) ctx.lastStatus = n.status;
        if (n.errno !== undefined) ctx.errno = n.errno;
        // As systemd with NotifyAccess=: a main pid outside the service's session is ignored,
        // or the service could have us write any pid into a root-owned PID file.
        if (n.mainPid !== undefined && (n.mainPid === pid || inSession(n.mainPid))) ctx.mainPid = n.mainPid;
        // As systemd: "extend the timeout to now + this", never shorten it.
        if (n.extendTimeoutUsec !== undefined) deadline = Math.max(deadline, Date.now() + n.extendTimeoutUsec / 1000);
        if (n.ready) ready = true;
        if (ready) resolve('ready');
      });
      void child.ended.then(() => resolve('exited'));
      void interrupted.then((signal) => resolve(signal));
    });
    // What it said before it ended counts: READY=1 may still be queued behind its exit.
    if (outcome === 'exited') notify.readPending();
  } finally {
    clearTimeout(timer);
    notify.close();
  }
  if (outcome === 'ready' || ready) return ctx.mainPid;
  if (outcome === 'timeout') {
    throw new StartError(`did not report ready within ${plan.readyTimeout} ms (readyTimeout); stopped it (pid ${pid})${limitsHint(plan)}${said(ctx)}`);
  }
  if (outcome !== 'exited') throw new StartError(`interrupted by ${outcome} before it was ready; stopped it (pid ${pid})`);
  if (ctx.lastStatus !== null) throw new StartError(`failed to start: ${ctx.lastStatus}`);
  throw new StartError(endedBefore(child, 'it was ready') + errnoSaid(ctx.errno, '; it said ') + limitsHint(plan));
}

/** "exited with code 1 before it was ready (pid N)", and the like. */
function endedBefore(child: ChildWatch, what: string): string {
  const status = child.status;
  const how = status === null ? 'exited' : status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
  return `${how} before ${what} (pid ${child.pid})`;
}

const said = (ctx: { lastStatus: string | null }) => (ctx.lastStatus === null ? '' : `; its last status: ${ctx.lastStatus}`);

/** ERRNO= as Node names it: "ERRNO=2 (ENOENT)" (shown when no STATUS= said more). */
function errnoSaid(errno: number | null, before: string): string {
  if (errno === null || errno === 0) return '';
  let name = '';
  try {
    name = ` ${getSystemErrorName(-errno)}`;
  } catch {
    // not an errno this system has
  }
  return `${before}ERRNO=${errno}${name ? ` (${name.trim()})` : ''}`;
}


/**
 * --ready tcp: until the address accepts a connection, the program ends, the ready timeout
 * passes or the launcher is interrupted; throws unless it accepted. Each attempt waits for
 * connect(2) to answer; a refused one is tried again 10 ms later.
 */
export async function waitForPort(plan: Plan, child: ChildWatch, at: { host: string; port: number }, interrupted: Promise<NodeJS.Signals>): Promise<void> {
  const { connect } = require('node:net') as typeof import('node:net');
  const pid = child.pid;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  const outcome = await new Promise<'ready' | 'exited' | 'timeout' | NodeJS.Signals>((resolve) => {
    const attempt = () => {
      if (done) return;
      const socket = connect({ host: at.host, port: at.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve('ready');
      });
      socket.once('error', () => {
        socket.destroy();
        if (!done) retry = setTimeout(attempt, 10);
      });
    };
    timer = setTimeout(() => resolve('timeout'), plan.readyTimeout);
    void child.ended.then(() => resolve('exited'));
    void interrupted.then((signal) => resolve(signal));
    attempt();
  });
  done = true;
  clearTimeout(timer);
  clearTimeout(retry);
  const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  if (outcome === 'ready') return;
  if (outcome === 'timeout') throw new StartError(`did not accept connections on ${where} within ${plan.readyTimeout} ms (readyTimeout); stopped it (pid ${pid})${limitsHint(plan)}`);
  if (outcome !== 'exited') throw new StartError(`interrupted by ${outcome} before it was ready; stopped it (pid ${pid})`);
  throw new StartError(endedBefore(child, `it accepted connections on ${where}`) + limitsHint(plan));
}
