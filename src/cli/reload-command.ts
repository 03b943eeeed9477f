// daemonkit reload: 0 reloaded, 1 not running or the restart failed, 2 bad input.
import { reloadService } from '../index';
import { SELECT_OPTIONS, selected } from './args';
import { parse, say } from './io';
import { USAGE } from './usage';

export async function reloadCommand(args: string[]): Promise<number> {
  const { values } = parse(args, SELECT_OPTIONS, false);
  if (values.help) return say(1, USAGE), 0;
  const { name, pidFile } = selected(values);
  const r = await reloadService(pidFile, name);
  if (r.how === 'not running') return say(2, r.message), r.code;
  if (r.how === 'signal') return say(1, `${r.name} reloaded (${r.signal} to pid ${r.pid})`), 0;
  say(r.stopped.code === 0 ? 1 : 2, r.stopped.message);
  if (r.started.ok) return say(1, `${r.started.name} reloaded by a restart (pid ${r.started.pid})`), 0;
  say(2, `${r.started.message}\n${r.started.tail}`.trimEnd());
  return r.started.code;
}
