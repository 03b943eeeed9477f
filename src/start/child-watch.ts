// How the launcher learns that the service it started has ended: it is the service's
// subreaper (Linux), so the service becomes its child when the middle process exits, and
// SIGCHLD says when to reap it; reap() takes this one pid, never another child of the
// program. Elsewhere the service is init's child, and its end is seen by polling kill(pid, 0).
import { getpgid } from '../os/session';
import { reap, type ExitStatus } from '../os/spawn';

export class ChildWatch {
  /** How it ended, once reaped; null while it runs (or when it was not ours to reap). */
  status: ExitStatus | null = null;
  private gone = false;
  private markEnded!: () => void;
  /** Settles when it has ended; never, if it outlives this watch. Holds nothing open. */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  private poll: NodeJS.Timeout | null = null;
  private readonly onSignal = () => this.check();

  constructor(readonly pid: number) {
    process.on('SIGCHLD', this.onSignal);
    this.check();
  }

  get exited(): boolean {
    return this.gone;
  }

  private check(): void {
    if (this.gone) return;
    try {
      const status = reap(this.pid);
      if (status === null) return;
      this.status = status;
    } catch {
      // ECHILD: not our child (no subreaper here): it ended when kill(pid, 0) says so.
      if (this.poll === null) this.poll = setInterval(() => this.check(), 50);
      try {
        process.kill(this.pid, 0);
        return;
      } catch {
        // gone
      }
    }
    this.gone = true;
    this.stop();
    this.markEnded();
  }

  /** Resolves once it has ended, or after timeoutMs; true when it has ended. */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.gone) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ended, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.gone;
  }

  /**
   * SIGKILL to its process group (the session the middle process created, so whatever it
   * started goes too), then waits for it. Never signals a pid already reaped: it may belong
   * to someone else by now.
   */
  async kill(timeoutMs = 5000): Promise<void> {
    if (this.gone) return;
    let group: number | null;
    try {
      group = getpgid(this.pid);
    } catch {
      group = null;
    }
    try {
      if (group !== null && group !== getpgid()) process.kill(-group, 'SIGKILL');
      else process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.wait(timeoutMs);
  }

  stop(): void {
    process.removeListener('SIGCHLD', this.onSignal);
    if (this.poll !== null) clearInterval(this.poll);
    this.poll = null;
  }
}
