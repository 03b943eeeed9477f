// Step "wait": until the service says READY=1 on its NOTIFY_SOCKET, or ends, or takes too
// long, or the launcher is interrupted (docs/design.md, "Launcher and service").
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
  const ctx = { mainPid: null as number | null, lastStatus: null as string | null };
  const ours = (sender: number | null) => {
    if (sender === null || sender === pid || sender === ctx.mainPid) return true;
    try {
      // A helper of the service (systemd-notify from its shell script) is in its session.
      return getsid(sender) === getsid(pid);
    } catch {
      return false;
    }
  };
  type Outcome = 'ready' | 'exited' | 'timeout' | NodeJS.Signals;
  let ready = false;
  let deadline = Date.now() + plan.readyTimeout;
  let timer: NodeJS.Timeout | undefined;
  let outcome: Outcome;
  try {
    outcome = await new Promise<Outcome>((resolve) => {
      const arm = () => {
        timer = setTimeout(() => (Date.now() >= deadline ? resolve('timeout') : arm()), Math.max(1, deadline - Date.now()));
      };
      arm();
      notify.listen(ours, (n) => {
        if (n.status !== undefined) ctx.lastStatus = n.status;
        if (n.mainPid !== undefined) ctx.mainPid = n.mainPid;
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
  const status = child.status;
  throw new StartError(
    (status === null
      ? `exited before it was ready (pid ${pid})`
      : status.signal !== null
        ? `was killed by ${status.signal} before it was ready (pid ${pid})`
        : `exited with code ${status.code} before it was ready (pid ${pid})`) + limitsHint(plan),
  );
}

const said = (ctx: { lastStatus: string | null }) => (ctx.lastStatus === null ? '' : `; its last status: ${ctx.lastStatus}`);

