// CLOCK_MONOTONIC, which a step of the wall clock does not move: for deadlines, durations and
// systemd's MONOTONIC_USEC=.

/** CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC= (libuv's hrtime). */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** CLOCK_MONOTONIC in milliseconds, for deadlines and durations that a clock step must not move. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
