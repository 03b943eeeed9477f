// daemonkit run: the supervisor in the foreground (systemd Type=notify, containers). Exit
// code: 0 stopped, or ended with a success code; the program's own with --restart never; 1
// on a crash loop or a start that failed; 2 bad input; 3 already running.
import { runService } from '../index';
import { OptionError } from '../errors';
import { servicesOf, startArgs } from './args';
import { say } from './io';
import { USAGE } from './usage';

export async function runCommand(args: string[]): Promise<number> {
  const { flags, config, help } = startArgs(args, 'run');
  if (help) return say(1, USAGE), 0;
  const services = servicesOf(flags, config);
  if (services.length > 1) throw new OptionError(`--config ${config} has ${services.length} services and run runs one; give a file with one service (or use daemonkit start)`);
  const r = await runService(services[0]);
  if (!r.ok) say(2, `${r.message}\n${r.tail}`.trimEnd());
  return r.code;
}
