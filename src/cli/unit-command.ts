// daemonkit unit: prints a systemd unit that runs the service under daemonkit run, exit 0;
// bad options (the same refusals as start), exit 2, with nothing on stdout.
import { systemdUnit } from '../index';
import { OptionError } from '../errors';
import { servicesOf, startArgs } from './args';
import { say } from './io';
import { USAGE } from './usage';

export async function unitCommand(args: string[]): Promise<number> {
  const { flags, config, help } = startArgs(args, 'unit');
  if (help) return say(1, USAGE), 0;
  const services = servicesOf(flags, config);
  if (services.length > 1) {
    throw new OptionError(`--config ${config} has ${services.length} services and a unit runs one; give a config with one service (one unit per service)`);
  }
  // Written whole, or not at all: the unit is built before anything is printed.
  say(1, systemdUnit(services[0]));
  return 0;
}
