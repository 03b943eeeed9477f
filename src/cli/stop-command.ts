// daemonkit stop and restart, of one service (--name, --pid-file) or of every service of a
// --config file (stopped last first). stop: 0 stopped or not running, 1 could not, 2 bad input.
import { OptionError } from '../errors';
import { pidFileOf, readConfig, restart, signalNamed, stop } from '../index';
import { duration, SELECT_OPTIONS, selected, servicesOf, type Selected } from './args';
import { parse, say } from './io';
import { USAGE } from './usage';

const OPTIONS = { ...SELECT_OPTIONS, config: { type: 'string' } } as const;

/** The services a command names: one, or those of a config file. */
function targets(values: { name?: string; 'pid-file'?: string; config?: string }): Selected[] {
  if (values.config === undefined) return [selected(values)];
  if (values.name !== undefined || values['pid-file'] !== undefined) throw new OptionError('give --config, or --name or --pid-file, not both');
  return readConfig(values.config).map((s) => {
    const name = s.name ?? s.command?.[0]?.split('/').pop();
    if (!name) throw new OptionError(`--config ${values.config}: a service without "name" or "command"; give it a name`);
    return { name, pidFile: s.pidFile ?? pidFileOf(name) };
  });
}

export async function stopCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { ...OPTIONS, timeout: { type: 'string' }, signal: { type: 'string' } }, false);
  if (values.help) return say(1, USAGE), 0;
  const list = targets(values);
  const signal = values.signal === undefined ? undefined : (signalNamed(values.signal) as NodeJS.Signals);
  const timeout = values.timeout === undefined ? undefined : duration(values.timeout, '--timeout');
  let code = 0;
  for (const { name, pidFile } of list.reverse()) {
    const r = await stop({ name, pidFile, signal, timeout });
    say(r.code === 0 ? 1 : 2, r.message);
    code = Math.max(code, r.code);
  }
  return code;
}

export async function restartCommand(args: string[]): Promise<number> {
  const { values } = parse(args, OPTIONS, false);
  if (values.help) return say(1, USAGE), 0;
  // With --config, the file as it is now: edits to it apply.
  const fresh = values.config === undefined ? undefined : servicesOf({}, values.config);
  let code = 0;
  for (const [i, { name, pidFile }] of targets(values).entries()) {
    const { stopped, started } = await restart(pidFile, name, fresh?.[i]);
    say(stopped.code === 0 ? 1 : 2, stopped.message);
    if (started.ok) {
      say(1, `${started.name} started (pid ${started.pid})`);
      continue;
    }
    say(2, `${started.message}\n${started.tail}`.trimEnd());
    code = Math.max(code, started.code);
  }
  return code;
}
