// daemonkit status (LSB's exit codes: 0 running, 1 dead with a PID file or failed, 3 not
// running, 4 unknown) and daemonkit list (every service of the run directory, as a table).
import { defaultRunDir, listServices, serviceStatus, type ServiceStatus } from '../index';
import { SELECT_OPTIONS, selected } from './args';
import { parse, say } from './io';
import { USAGE } from './usage';

export function statusCommand(args: string[]): number {
  const { values } = parse(args, { ...SELECT_OPTIONS, json: { type: 'boolean' } }, false);
  if (values.help) return say(1, USAGE), 0;
  const { name, pidFile } = selected(values);
  const s = serviceStatus(pidFile, name);
  if (values.json) {
    say(1, JSON.stringify(s));
    return s.code;
  }
  say(s.code === 4 ? 2 : 1, describeStatus(s));
  return s.code;
}

function describeStatus(s: ServiceStatus): string {
  const detail = [
    s.pid === null ? null : `pid ${s.pid}`,
    s.programPid === undefined || s.programPid === null ? null : `program pid ${s.programPid}`,
    s.restarts === undefined ? null : `${s.restarts} restart${s.restarts === 1 ? '' : 's'}`,
    s.uptimeSeconds === null ? null : `up ${s.uptimeSeconds} s`,
    s.rssBytes === null ? null : `RSS ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB`,
    s.logFile === null ? null : `log ${s.logFile}`,
  ].filter(Boolean);
  const text = {
    running: 'is running',
    dead: `is dead, but its PID file ${s.pidFile} remains`,
    failed: `failed (${s.reason})`,
    stopped: 'is not running',
    unknown: `: status unknown: ${s.reason}`,
  }[s.state];
  return `${s.name} ${text}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`.replace(' : ', ': ');
}

export function listCommand(args: string[]): number {
  const { values } = parse(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) return say(1, USAGE), 0;
  const all = listServices(defaultRunDir());
  if (values.json) return say(1, JSON.stringify(all)), 0;
  const rows = [['NAME', 'STATE', 'PID', 'UPTIME', 'RSS', 'LOG']];
  for (const s of all) {
    rows.push([s.name, s.state, String(s.pid ?? '-'), s.uptimeSeconds === null ? '-' : `${s.uptimeSeconds}s`, s.rssBytes === null ? '-' : `${(s.rssBytes / 2 ** 20).toFixed(1)}M`, s.logFile ?? '-']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  say(1, rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n'));
  return 0;
}
