// daemonkit start: 0 started (ready by its mode), 1 failed, 2 bad input, 3 already running.
// With --config of several services, they start in order; when one fails, those this command
// started are stopped again, so that the set starts together or not at all.
import { start, stop, type ServiceOptions, type StartResult } from '../index';
import { servicesOf, startArgs } from './args';
import { say } from './io';
import { USAGE } from './usage';

export async function startCommand(args: string[]): Promise<number> {
  const { flags, config, help } = startArgs(args, 'start');
  if (help) return say(1, USAGE), 0;
  const services = servicesOf(flags, config);
  const started: Array<Extract<StartResult, { ok: true }> & { options: ServiceOptions }> = [];
  let code = 0;
  for (const options of services) {
    const r = await start(options);
    if (r.ok) {
      say(1, `${r.name} started (pid ${r.pid})`);
      started.push({ ...r, options });
      continue;
    }
    say(2, `${r.message}\n${r.tail}`.trimEnd());
    if (r.code === 3 && services.length > 1) {
      code = 3;
      continue;
    }
    for (const s of started.reverse()) {
      const stopped = await stop({ pidFile: s.pidFile, name: s.name, timeout: s.options.stopTimeout });
      say(2, `${stopped.message} (the services of ${config} start together)`);
    }
    return r.code;
  }
  return code;
}
