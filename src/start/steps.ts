// The start as a list of steps run by one function (docs/design.md, "The start"). Each step
// returns what it acquired: `release` drops this process's hold on it (our copy of a
// descriptor) on every way out; `undo` takes back what the step made (a daemon, a PID file, a
// socket file) and runs only when a later step fails. A failed start therefore leaves
// nothing behind, whichever step failed, and a started one leaves only what the service holds.

export interface Acquired {
  release?: () => void;
  undo?: () => void | Promise<void>;
}

export interface Step<C> {
  name: string;
  run(ctx: C): Acquired | void | Promise<Acquired | void>;
}

export type StepsOutcome = { ok: true } | { ok: false; step: string; error: unknown };

export async function runSteps<C>(steps: readonly Step<C>[], ctx: C): Promise<StepsOutcome> {
  const done: Acquired[] = [];
  for (const step of steps) {
    let acquired: Acquired | void;
    try {
      acquired = await step.run(ctx);
    } catch (error) {
      // Last acquired, first undone: a daemon is stopped before the PID file it holds goes.
      for (const a of done.reverse()) {
        try {
          await a.undo?.();
        } catch {
          // the rest is undone all the same
        }
        quietly(a.release);
      }
      return { ok: false, step: step.name, error };
    }
    if (acquired) done.push(acquired);
  }
  for (const a of done.reverse()) quietly(a.release);
  return { ok: true };
}

function quietly(fn: (() => void) | undefined): void {
  try {
    fn?.();
  } catch {
    // closing what is already closed
  }
}
