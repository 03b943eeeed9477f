// How a failed start is told: one line naming the input and the fix, and an exit code
// (1 failed to start, 2 invalid options, 3 already running).

export class DaemonizeError extends Error {
  /**
   * @param bare the message is complete as it stands (no "name: " prefix is added by the
   *   caller: used for "x already running (pid N)")
   */
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 3,
    readonly bare = false,
  ) {
    super(message);
  }
}

/** A failure of the environment (files, ports, privileges): exit code 1. */
export class StartError extends DaemonizeError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** An invalid option: exit code 2. */
export class OptionError extends DaemonizeError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** One line for a person: the message without a stack, whatever was thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0];
  return String(err);
}
